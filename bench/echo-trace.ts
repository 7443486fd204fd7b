// One echo case frame by frame (diagnostics for the canceller and the barge-in gate): the line's
// level, the caller's own level, the echo truly left after the canceller (the echo-only line less
// the canceller's echo estimate), the canceller's estimate of it (echoDb), the VAD probability and
// the turn detector's voiced run.
//   npx tsx bench/echo-trace.ts --set heldout2 --id <case id> [--from ms] [--to ms] [--vad silero|webrtc]
import { CallDsp, FRAME_BYTES, loadDsp } from '../workers/dsp-core.ts';
import { EspeakTts } from '../adapters/local/espeak-tts.ts';
import { ConfigSchema } from '../engine/config.ts';
import { turnDetectorFor } from '../engine/call/turn-detector.ts';
import { ULAW_TO_PCM } from '../adapters/kit/ulaw.ts';
import { agentAudio, buildEchoCase, callerAudio, echoSpecs, type FixtureSet } from './echo-fixtures.ts';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1] : d;
};
const set = arg('--set', 'heldout2') as FixtureSet;
const id = arg('--id', '');
await loadDsp();
const agents = await agentAudio(set);
const callers = await callerAudio(set);
await EspeakTts.shutdown();
const spec = echoSpecs(set).find((s) => buildEchoCase(s, agents[s.agentIndex], undefined, callers).id === id);
if (!spec) throw new Error(`no case ${id}`);
const c = buildEchoCase(spec, agents[spec.agentIndex], undefined, callers);
const echoOnly = buildEchoCase({ ...spec, barge: null, noise: null }, agents[spec.agentIndex], undefined, callers).line;
const other = buildEchoCase({ ...spec, gainDb: -200 }, agents[spec.agentIndex], undefined, callers).line;
const from = Number(arg('--from', String((c.caller?.startMs ?? 1000) - 200)));
const to = Number(arg('--to', String(from + 700)));
const config = ConfigSchema.parse({});
const vad = arg('--vad', 'silero') as 'silero' | 'webrtc';
const dsp = new CallDsp({ denoise: 'off', vadMode: 2, vad });
const det = turnDetectorFor({ ...config, DSP_VAD: vad });
const pcm = new Int16Array(FRAME_BYTES);
const db = (p: number) => (p <= 1e-10 ? -100 : 10 * Math.log10(p)).toFixed(1).padStart(6);
console.log(`${c.id}: caller from ${c.caller?.startMs} ms`);
console.log('   t  line   caller  echoIn  echoLeft  est  | out  prob  voicedMs');
for (let f = 0; f * FRAME_BYTES + FRAME_BYTES <= c.line.length; f++) {
  const t = f * 20;
  if (f === Math.round(c.agentAtMs / 20)) dsp.queuePlayout(c.agent);
  const level = dsp.process(c.line, f * FRAME_BYTES, pcm, 0);
  const e = det.push({ prob: dsp.lastProb, levelDb: level, echoDb: dsp.lastEchoDb, echoShare: dsp.lastEchoShare }, t);
  if (t < from || t > to) continue;
  const ec = dsp.echoCanceller;
  let pl = 0, pc = 0, pe = 0, pr = 0;
  for (let i = 0; i < FRAME_BYTES; i++) {
    const k = f * FRAME_BYTES + i;
    const l = ULAW_TO_PCM[c.line[k]] / 32768;
    const o = ULAW_TO_PCM[other[k]] / 32768;
    const ec = ULAW_TO_PCM[echoOnly[k]] / 32768;
    const out = pcm[i] / 32768;
    pl += l * l; pc += o * o; pe += ec * ec;
    const yhat = l - out;
    pr += (ec - yhat) ** 2;
  }
  const n = FRAME_BYTES;
  console.log(`${String(t).padStart(5)} ${db(pl / n)} ${db(pc / n)} ${db(pe / n)} ${db(pr / n)} ${dsp.lastEchoDb.toFixed(1).padStart(6)} | ${level.toFixed(1).padStart(6)} ${dsp.lastProb.toFixed(2)} share ${dsp.lastEchoShare.toFixed(2)} ${det.lastVoiced ? "V" : " "} ${e?.type === 'voiced' ? e.voicedMs : ''}${ec ? ` | adapted ${ec.adapted} dt ${ec.doubleTalk} undone ${ec.undone} copies ${ec.copies} restarts ${ec.restarts} resets ${ec.resets} delay ${ec.delay}` : ''}`);
}
