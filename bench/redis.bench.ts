// What sharing through Redis costs (engine/shared/), all of it off the audio path:
// - a command's round trip through RedisLink (PING, and GET of a 20 KB audio clip);
// - how long an answer one instance learns takes to be a hit on another (stream append → the
//   other's XREAD → put into its cache), the cross-instance cache hit's delay;
// - GET /calls/:sid's Redis read for a call held elsewhere (hash + events + 10 turn summaries);
// - a cache lookup through the shared layer against the local cache alone (the turn's path).
// `npx tsx bench/redis.bench.ts [REDIS_URL]` (default redis://127.0.0.1:6379; keys under a
// unique prefix, deleted at the end).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../engine/config.ts';
import { log } from '../engine/log.ts';
import { ResponseCache } from '../engine/cache/index.ts';
import { RedisLink } from '../engine/shared/redis-link.ts';
import { SharedCache } from '../engine/shared/shared-cache.ts';
import { SharedCalls } from '../engine/shared/shared-calls.ts';

const url = process.argv[2] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `weaver-bench:${randomUUID().slice(0, 8)}:`;
const cfg = loadConfig({}, { REDIS_URL: url, REDIS_KEY_PREFIX: prefix, CACHE_EMBEDDING_BACKEND: 'hashing', CACHE_LEARN_MIN_COUNT: 1, LOG_LEVEL: 'error' } as never);
const quiet = log.child({});
quiet.level = 'error';

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] * 1000) / 1000;
};
const row = (what: string, xs: number[]) => console.log(`${what.padEnd(58)} n=${String(xs.length).padStart(4)}  p50 ${q(xs, 0.5).toFixed(3)} ms  p95 ${q(xs, 0.95).toFixed(3)} ms  p99 ${q(xs, 0.99).toFixed(3)} ms`);

const mkLink = () => new RedisLink({ url, prefix, commandTimeoutMs: 1000, writeQueueMax: 10_000, log: quiet });
const la = mkLink();
const lb = mkLink();
if (!(await la.connect()) || !(await lb.connect())) {
  console.error(`no Redis at ${url}`);
  process.exit(2);
}
const ca = await ResponseCache.create(cfg, { log: quiet, persist: false });
const cb = await ResponseCache.create(cfg, { log: quiet, persist: false });
const sa = new SharedCache(ca, la, cfg, 'bench-a', quiet);
const sb = new SharedCache(cb, lb, cfg, 'bench-b', quiet);
sa.start();
sb.start();
await Promise.all([sa.caughtUp, sb.caughtUp]);

// 1. Round trips.
const ping: number[] = [];
for (let i = 0; i < 500; i++) {
  const t0 = performance.now();
  await la.read('ping', (r) => r.ping());
  ping.push(performance.now() - t0);
}
row('PING round trip (RedisLink.read)', ping);
const clip = Buffer.alloc(20_000, 0x7f);
await la.cmd.set(la.key('bench', 'clip'), clip);
const get: number[] = [];
for (let i = 0; i < 300; i++) {
  const t0 = performance.now();
  await la.read('clip', (r) => r.getBuffer(la.key('bench', 'clip')));
  get.push(performance.now() - t0);
}
row('GET of a 20 KB audio clip', get);

// 2. Learned on A → a hit on B.
const key = { workflow: 'bench', state: '', language: 'en-US', voice: '' };
const spread: number[] = [];
let last = '';
for (let i = 0; i < 200; i++) {
  const question = `Is appointment slot number ${i} free on the ${i % 28}th, please ${randomUUID().slice(0, 6)}?`;
  last = question;
  const t0 = performance.now();
  const id = await sa.put(key, question, `Slot ${i} is free.`);
  while (!cb.has(id)) await new Promise((r) => setImmediate(r));
  spread.push(performance.now() - t0);
}
row('learned on A → in B\'s cache (stream → XREAD → put)', spread);
const hitB = await sb.lookup(key, last);
console.log(`  B answers the last one from its own memory: ${hitB ? `${hitB.tier} hit in ${hitB.lookupMs.toFixed(3)} ms` : 'miss'}`);

// 3. A call's shared record, read by an instance that never held it.
const calls = new SharedCalls(la, cfg, 'bench-a', quiet);
const sid = `CA${randomUUID().replace(/-/g, '')}`;
const ev = { kind: 'status', event: { status: 'in-progress', sequence: 1, receivedAt: new Date().toISOString() } };
await la.cmd.multi().hset(la.key('call', sid), { owner: 'bench-a', mode: 'media', workflow: 'demo', state: 'listening' }).rpush(`${la.key('call', sid)}:events`, JSON.stringify(ev)).exec();
for (let t = 1; t <= 10; t++) await la.cmd.rpush(`${la.key('call', sid)}:turns`, JSON.stringify({ index: t, user: 'Where is the clinic located?', answer: 'At 12 Harbour Street.', source: 'llm', interrupted: false, latency: { turnMs: 420 } }));
const other = new SharedCalls(lb, cfg, 'bench-b', quiet);
const view: number[] = [];
for (let i = 0; i < 300; i++) {
  const t0 = performance.now();
  await other.get(sid);
  view.push(performance.now() - t0);
}
row('GET /calls/:sid\'s Redis read (hash + events + 10 turns)', view);
void calls;

// 4. The turn's path: lookups through the shared layer never wait for Redis.
const local: number[] = [];
const viaShared: number[] = [];
for (let i = 0; i < 2000; i++) {
  const question = `Is appointment slot number ${i % 200} free?`;
  let t0 = performance.now();
  await ca.lookup(key, question);
  local.push(performance.now() - t0);
  t0 = performance.now();
  await sa.lookup(key, question);
  viaShared.push(performance.now() - t0);
}
row('cache lookup, local cache alone', local);
row('cache lookup through the shared layer (no Redis call)', viaShared);

await sa.close();
await sb.close();
let cursor = '0';
do {
  const [next, keys] = await la.cmd.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
  cursor = next;
  if (keys.length) await la.cmd.del(...keys);
} while (cursor !== '0');
await la.close();
await lb.close();
await ca.close();
await cb.close();
process.exit(0);
