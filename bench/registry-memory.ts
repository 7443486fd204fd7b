// What the call registry holds for ended calls: the memory (V8 heap and external buffers) an ended Media Streams call keeps alive
// while the registry remembers it, as a whole call object (before engine/calls/ended-call.ts) and as
// its summary (now). The engine in this process, 3 waves of 100 real calls (simulated Twilio side,
// the first utterance of test/fixtures/audio/call-3turns.ulaw, answered from the FAQ), then heap used
// plus external memory after a full GC with the registry's ended calls kept and again once they are dropped.
//   npx tsx bench/registry-memory.ts [--calls 100] [--waves 3]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { loadConfig } from '../engine/config.ts';
import { createEngine } from '../engine/engine.ts';
import { startServer } from '../engine/server.ts';
import { routeGroups } from '../engine/routes.ts';
import { simulateCall } from './load/twilio-sim.ts';
import type { MediaCall } from '../engine/call/media-call.ts';

const arg = (name: string, def: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : def);
const CALLS = arg('calls', 100);
const WAVES = arg('waves', 3);
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = 2 ** 20;

const config = loadConfig({}, { PORT: 0, HOST: '127.0.0.1', DSP_THREADS: 1, CACHE_DIR: mkdtempSync(join(tmpdir(), 'regmem-cache-')), HISTORY_PATH: join(mkdtempSync(join(tmpdir(), 'regmem-hist-')), 'h.sqlite'), SHUTDOWN_GRACE_MS: 0, MAX_CALLS: 5000 });
const engine = await createEngine(config, { log: pino({ level: 'silent' }) });
const server = await startServer(engine, routeGroups);
const url = `http://127.0.0.1:${server.port}`;
const audio = new Uint8Array(readFileSync(new URL('../test/fixtures/audio/call-3turns.ulaw', import.meta.url)));
const first = (JSON.parse(readFileSync(new URL('../test/fixtures/audio/call-3turns.labels.json', import.meta.url), 'utf8')) as { speech: Array<{ startMs: number; endMs: number }> }).speech[0];

const heapMb = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / MB; // external: Buffers and typed arrays (audio) live outside the V8 heap
};

/** Heap kept per ended call: run the calls, then heap with them remembered minus heap without. */
async function measure(label: string): Promise<{ label: string; calls: number; answered: number; heapKeptMb: number; perCallKb: number }> {
  engine.registry.recentMedia.clear();
  let answered = 0;
  for (let w = 0; w < WAVES; w++) {
    const rs = await Promise.all(Array.from({ length: CALLS }, () => simulateCall({ baseUrl: url, audio: audio.subarray(0, 8 * (first.endMs + 500)), transcripts: ['Is there parking at the clinic?'], labels: [first], speed: 1, tailMs: 3000 })));
    answered += rs.filter((r) => r.mediaAt.some((t) => t > first.endMs)).length;
  }
  await new Promise((r) => setTimeout(r, 1000));
  const kept = engine.registry.recentMedia.size;
  const withCalls = heapMb();
  engine.registry.recentMedia.clear();
  const without = heapMb();
  const r = { label, calls: kept, answered, heapKeptMb: Math.round((withCalls - without) * 10) / 10, perCallKb: Math.round(((withCalls - without) * 1024) / kept) };
  console.log(JSON.stringify(r));
  return r;
}

const now = await measure('summary (ended-call.ts)');
// The registry as it was: the whole call object stays, whatever its state.
const remember = engine.registry.remember.bind(engine.registry);
engine.registry.remember = (call) => {
  if (call.mode !== 'media') return remember(call);
  engine.registry.recentMedia.set(call.callSid, call as MediaCall);
};
const before = await measure('whole call object (before)');
console.log(`memory an ended media call keeps in the registry: ${before.perCallKb} KB as the call object, ${now.perCallKb} KB as a summary; at the default capacity (1,000 per kind) that is ${Math.round(before.perCallKb * 1000 / 1024)} vs ${Math.round(now.perCallKb * 1000 / 1024)} MB of media calls`);
await server.shutdown(0);
process.exit(0);
