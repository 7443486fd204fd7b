// `npm run call -- [options]`: phone the engine as Twilio would and report what the caller heard.
//   --url http://127.0.0.1:8080   engine base URL
//   --workflow demo               workflow to call
//   --audio FILE.ulaw             caller audio (8 kHz μ-law, headerless); labels from FILE.labels.json if present
//   --transcripts '["…","…"]'     what the simulated STT "hears" per caller turn
//   --speed 1                     1 = real time
//   --out agent.wav               where to save the agent's audio as played
//   --dtmf 5@3000                 press 5 at 3 s (repeatable, comma-separated)
//   --echo -6@120                 the line echoes the agent's audio at -6 dB after 120 ms
//   --relay …                     ConversationRelay mode instead (see bench/load/relay-sim.ts --help)
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { simulateCall } from './twilio-sim.ts';
import { wavFromUlaw } from '../../adapters/audio.ts';

const DEFAULT_AUDIO = new URL('../../test/fixtures/audio/call-3turns.ulaw', import.meta.url).pathname;
const DEFAULT_TRANSCRIPTS = ['What are your opening hours on weekdays?', 'Is there parking at the clinic?', 'Thanks, goodbye!'];

// Relay mode (ConversationRelay: typed or scripted prompts) has its own runner.
if (process.argv.includes('--relay')) process.exit(await (await import('./relay-sim.ts')).main(process.argv.slice(2).filter((x) => x !== '--relay')));

const { values: a } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.WEAVER_URL ?? 'http://127.0.0.1:8080' },
    workflow: { type: 'string' },
    audio: { type: 'string', default: DEFAULT_AUDIO },
    transcripts: { type: 'string' },
    speed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'agent.wav' },
    dtmf: { type: 'string' },
    echo: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (a.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n'));
  process.exit(0);
}

const audio = new Uint8Array(readFileSync(a.audio!));
const labelsPath = a.audio!.replace(/\.ulaw$/, '.labels.json');
const labels: Array<{ startMs: number; endMs: number }> = existsSync(labelsPath) ? JSON.parse(readFileSync(labelsPath, 'utf8')).speech : [];
let transcripts = DEFAULT_TRANSCRIPTS;
if (a.transcripts) {
  try {
    transcripts = JSON.parse(a.transcripts);
    if (!Array.isArray(transcripts)) throw new Error('not an array');
  } catch (e) {
    console.error(`--transcripts must be a JSON array of strings: ${(e as Error).message}`);
    process.exit(2);
  }
}
const dtmf = (a.dtmf ?? '').split(',').filter(Boolean).map((d) => {
  const [digit, at] = d.split('@');
  return { digit, atMs: Number(at) };
});

function parseEcho(v: string): { gainDb: number; delayMs: number } {
  const [g, d] = v.split('@').map(Number);
  if (!(Number.isFinite(g) && Number.isFinite(d) && d >= 0)) {
    console.error('--echo takes GAIN_DB@DELAY_MS, e.g. -6@120');
    process.exit(2);
  }
  return { gainDb: g, delayMs: d };
}

const speed = Number(a.speed);
console.log(`calling ${a.url} (workflow ${a.workflow ?? 'default'}), ${(audio.length / 8000).toFixed(1)} s of caller audio at ${speed}× real time; STT is simulated`);
const events: string[] = [];
const r = await simulateCall({
  baseUrl: a.url!,
  workflow: a.workflow,
  audio,
  transcripts,
  labels: labels.length ? labels : undefined,
  echo: a.echo ? parseEcho(a.echo) : undefined,
  speed,
  dtmf,
  onMessage: (m, at) => {
    if (m.event === 'clear') events.push(`${(at / 1000).toFixed(2)}s clear (barge-in)`);
  },
}).catch((e) => {
  console.error(`call failed: ${e.message} — is the engine running at ${a.url}? (npm start)`);
  process.exit(1);
});

writeFileSync(a.out!, wavFromUlaw(r.agentAudio));
const greeting = r.mediaAt[0];
console.log(`greeting: first audio ${greeting === undefined ? 'never' : `${greeting.toFixed(0)} ms`} after connect`);
labels.forEach((l, i) => {
  const lat = r.responseAfter(l.endMs);
  console.log(`turn ${i + 1}: caller stopped at ${(l.endMs / 1000).toFixed(2)} s → agent audio after ${lat === undefined ? 'never' : `${lat.toFixed(0)} ms`} (includes the endpointing hangover)`);
});
for (const e of events) console.log(e);
console.log(`marks echoed: ${r.marksEchoed.length}; clears: ${r.clears.length}; agent audio played: ${(r.agentAudio.length / 8000).toFixed(1)} s → ${a.out}`);
console.log(`socket closed with ${r.closeCode ?? 'no code'} ${r.closeReason ?? ''}`);
