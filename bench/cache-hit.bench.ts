// `npx tsx bench/cache-hit.bench.ts [calls]`: time from STT final to the first cached audio
// frame sent, on cache hits, in real calls: the engine (local providers, cache pre-warmed
// from the demo FAQ) and N simulated Twilio callers asking FAQ questions, on loopback in one
// process. Writes bench/results/cache-hit.json.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../engine/config.ts';
import { createEngine } from '../engine/engine.ts';
import { startServer } from '../engine/server.ts';
import { routeGroups } from '../engine/routes.ts';
import { simulateCall } from './load/twilio-sim.ts';

const CALLS = Number(process.argv[2] ?? 20);
const audio = new Uint8Array(readFileSync(new URL('../test/fixtures/audio/call-3turns.ulaw', import.meta.url)));
const config = loadConfig(process.env, { PORT: 0, HOST: '127.0.0.1', CACHE_DIR: mkdtempSync(join(tmpdir(), 'weaver-hit-')) });
const engine = await createEngine(config);
const server = await startServer(engine, routeGroups);
const url = `http://127.0.0.1:${server.port}`;
await new Promise((r) => setTimeout(r, 3000)); // let the FAQ pre-warm (embeddings + audio) finish

const questions = engine.workflow('demo')!.faq.filter((e) => e.language === 'en').map((e) => e.question);
process.stderr.write(`${CALLS} concurrent calls × 3 FAQ questions, real time…\n`);
const results = await Promise.all(
  Array.from({ length: CALLS }, (_, i) => simulateCall({ baseUrl: url, audio, transcripts: [0, 1, 2].map((k) => questions[(i * 3 + k) % questions.length]), speed: 1 })),
);
const hits: number[] = [];
let turns = 0;
for (const r of results) {
  for (const t of engine.recent.get(r.callSid)?.turns ?? []) {
    if (t.index === 0) continue;
    turns++;
    if (t.source?.startsWith('cache') && t.sttFinal !== undefined && t.firstAudioSent !== undefined) hits.push(t.firstAudioSent - t.sttFinal);
  }
}
hits.sort((a, b) => a - b);
const q = (p: number) => (hits.length ? Math.round(hits[Math.min(hits.length - 1, Math.ceil(p * hits.length) - 1)] * 100) / 100 : null);
const out = { calls: CALLS, turns, hits: hits.length, sttFinalToFirstCachedAudioMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: q(1) }, machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version } };
console.log(JSON.stringify(out, null, 2));
writeFileSync(new URL('./results/cache-hit.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
await server.shutdown(0);
process.exit(0);
