// CPU time of the echo canceller per frame while it works (agent audio playing, or its echo still
// arriving), on every case of an echo fixture set (bench/echo-fixtures.ts: the agent's eSpeak audio
// echoed at −6…−40 dB, 60…250 ms, clean and noisy lines, silent and barging callers), as the DSP
// shard runs it: the agent's audio queued when it starts, cleared 400 ms after a barging caller.
// process.cpuUsage() around each frame, so the figure holds up on a shared machine.
//   npx tsx bench/micro/echo.bench.ts [--set tune|test]
import { EchoCanceller } from '../../workers/echo.ts';
import { ULAW_TO_PCM } from '../../adapters/kit/ulaw.ts';
import { EspeakTts } from '../../adapters/local/espeak-tts.ts';
import { agentAudio, buildEchoCase, echoSpecs, type FixtureSet } from '../echo-fixtures.ts';

const setArg = process.argv.indexOf('--set');
const set = (setArg > 0 ? process.argv[setArg + 1] : 'tune') as FixtureSet;
const agents = await agentAudio(set);
await EspeakTts.shutdown();
const cases = echoSpecs(set).map((s) => buildEchoCase(s, agents[s.agentIndex]));

const sums = { silent: { us: 0, frames: 0 }, barge: { us: 0, frames: 0 } };
const pcm = new Int16Array(160);
const info = { echoShare: 0, echoDb: 0, active: false };
// Twice over: the first pass warms the JIT up and is not counted.
for (const counted of [false, true]) {
  for (const c of cases) {
    const ec = new EchoCanceller();
    const frames = Math.floor(c.line.length / 160);
    const agentFrame = Math.round(c.agentAtMs / 20);
    const clearFrame = c.caller ? Math.round((c.caller.startMs + 400) / 20) : -1;
    const sum = c.caller ? sums.barge : sums.silent;
    for (let f = 0; f < frames; f++) {
      if (f === agentFrame) ec.queue(c.agent);
      if (f === clearFrame) ec.clear();
      for (let i = 0; i < 160; i++) pcm[i] = ULAW_TO_PCM[c.line[f * 160 + i]];
      const t0 = process.cpuUsage();
      ec.process(pcm, 0, info);
      const u = process.cpuUsage(t0);
      if (counted && info.active) {
        sum.us += u.user + u.system;
        sum.frames++;
      }
    }
  }
}
console.log(`| ${set} set, ${cases.length} cases | active frames | CPU µs per active frame |\n|---|---|---|`);
for (const [k, s] of Object.entries(sums)) console.log(`| ${k === 'silent' ? 'silent caller over the echo' : 'caller barging in (cleared 400 ms after)'} | ${s.frames} | ${(s.us / s.frames).toFixed(1)} |`);
