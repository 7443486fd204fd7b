// Redis is never on the audio path: instance A reaches Redis through a TCP proxy this test hangs
// (Redis slow: no answers) and then stops (Redis gone), mid-call. Every call on A goes on and every
// turn is answered; /health says degraded; once Redis is back, A reconnects by itself and what it
// learned meanwhile reaches B. The machine's Redis itself is never touched.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.ts';
import { findRedis, RedisProxy } from './redis-server.ts';
import { countingLlm } from './fakes.ts';

const found = await findRedis();
if (!found.redis) console.warn(`[scale] Redis outage test skipped: ${found.reason}`);

describe.skipIf(!found.redis)('Redis slow or gone mid-run', () => {
  const redis = found.redis!;
  const target = new URL(redis.url);
  const proxy = new RedisProxy({ host: target.hostname, port: Number(target.port || 6379) });
  let a: TestEngine;
  let b: TestEngine;
  const llmA = { n: 0 };

  beforeAll(async () => {
    await proxy.start();
    const common = { REDIS_KEY_PREFIX: redis.prefix, PERFORMANCE_CACHE_ENABLED: true, CACHE_EMBEDDING_BACKEND: 'hashing', CACHE_LEARN_MIN_COUNT: 2, RELAY_SPECULATION: false, HISTORY_ENABLED: false, REDIS_COMMAND_TIMEOUT_MS: 200, WEAVER_API_TOKEN: 'outage-token' };
    a = await startTestEngine({ ...common, REDIS_URL: proxy.url, INSTANCE_ID: 'outage-a' }, { providers: countingLlm(llmA) });
    b = await startTestEngine({ ...common, REDIS_URL: redis.url, INSTANCE_ID: 'outage-b' }, { providers: countingLlm({ n: 0 }) });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await proxy.stop();
    await redis.cleanup();
  });

  const health = async () => (await fetch(`${a.url}/health`).then((r) => r.json())) as any;

  it('every call on A goes on and is answered while Redis hangs, then dies, then comes back', async () => {
    const caller = new RelayCaller({ baseUrl: a.url, workflow: 'demo-relay' });
    await caller.connect();
    expect((await caller.turn('Is there parking at the clinic?')).answer.length).toBeGreaterThan(0);
    expect((await health()).shared.redis.status).toBe('up');

    // Redis slow: the proxy stops passing bytes; commands time out, turns do not wait for them.
    proxy.hold(true);
    const slow1 = await caller.turn('Can I pay for my filling in three instalments?');
    const slow2 = await caller.turn('Can I pay for my filling in three instalments?'); // second sighting: A learns it (a write Redis cannot take now)
    expect(slow1.answer).toContain('front desk');
    expect(slow2.answer).toContain('front desk');

    // Redis gone: every connection cut, new ones refused.
    await proxy.stop();
    await waitFor(() => a.engine.shared!.link.status === 'down', 'A to notice Redis is gone');
    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.shared.redis.status).toBe('down');
    const down1 = await caller.turn('Do you see patients on public holidays?');
    expect(down1.answer).toContain('front desk');
    // A new call while Redis is down: answered, and from A's local cache (learned above).
    const second = new RelayCaller({ baseUrl: a.url, workflow: 'demo-relay' });
    await second.connect();
    const llmBefore = llmA.n;
    const hit = await second.turn('Can I pay for my filling in three instalments?');
    expect(hit.answer).toBe(slow1.answer);
    expect(llmA.n).toBe(llmBefore);
    // GET /calls/:sid on A still answers from what A holds.
    const view = await fetch(`${a.url}/calls/${caller.callSid}`, { headers: { authorization: 'Bearer outage-token' } });
    expect(view.status).toBe(200);
    expect(((await view.json()) as any).turns.length).toBeGreaterThanOrEqual(4);
    await second.hangup();

    // Redis back (same address): A reconnects with backoff, /health is ok again, and the answer
    // A learned while Redis was away reaches B.
    proxy.hold(false);
    await proxy.start();
    await waitFor(() => a.engine.shared!.link.status === 'up', 'A to reconnect', 15_000);
    await waitFor(() => (b.engine.shared!.cache!.stats() as { applied: number }).applied >= 1, 'B to apply what A learned while Redis was away', 10_000);
    expect(b.engine.cache!.stats().entries).toBeGreaterThan(0);
    const after = await caller.turn('Is there parking at the clinic?');
    expect(after.answer.length).toBeGreaterThan(0);
    expect((await health()).shared.redis.status).toBe('up');
    const counters = (await health()).shared.redis;
    expect(counters.readFailures + counters.writeFailures + counters.writesRetried).toBeGreaterThan(0); // the outage was seen and counted
    await caller.hangup();
    expect(a.engine.registry.recentRelay.get(caller.callSid)!.turns.filter((t) => t.index > 0 && t.answer).length).toBeGreaterThanOrEqual(5);
  });
});
