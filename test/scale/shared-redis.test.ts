// Two engine instances on one real Redis (engine/shared/): an answer learned on A is served by B
// from its cache with no LLM request; learn counts add up across instances; B answers
// GET /calls/:sid for a call held by A, and a status callback received by B shows on A; a breaker
// A opens is open on B. Redis is found by test/scale/redis-server.ts (REDIS_URL, 127.0.0.1:6379,
// or a redis-server it starts); without one, the suite says why and skips.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.ts';
import { findRedis } from './redis-server.ts';
import { countingLlm } from './fakes.ts';

const found = await findRedis();
if (!found.redis) console.warn(`[scale] Redis tests skipped: ${found.reason}`);

const API = 'scale-api-token';

describe.skipIf(!found.redis)('two instances on one Redis', () => {
  const redis = found.redis!;
  const llmA = { n: 0 };
  const llmB = { n: 0 };
  let a: TestEngine;
  let b: TestEngine;
  const common = () => ({
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix,
    PERFORMANCE_CACHE_ENABLED: true,
    CACHE_EMBEDDING_BACKEND: 'hashing',
    CACHE_LEARN_MIN_COUNT: 2,
    RELAY_SPECULATION: false,
    HISTORY_ENABLED: false,
    WEAVER_API_TOKEN: API,
  });

  beforeAll(async () => {
    a = await startTestEngine({ ...common(), INSTANCE_ID: 'instance-a' }, { providers: countingLlm(llmA) });
    b = await startTestEngine({ ...common(), INSTANCE_ID: 'instance-b' }, { providers: countingLlm(llmB) });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis.cleanup();
  });

  const ask = async (t: TestEngine, question: string) => {
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    const r = await caller.turn(question);
    await caller.hangup();
    const rec = t.engine.registry.recentRelay.get(caller.callSid)!.turns.find((x) => x.user === question)!;
    return { answer: r.answer, tokens: r.tokens, source: rec.source, callSid: caller.callSid };
  };
  const applied = (t: TestEngine) => (t.engine.shared!.cache!.stats() as { applied: number }).applied;

  it('an answer learned on A is a cache hit on B, with no LLM request on B', async () => {
    const q = 'Can I bring my guide dog into the treatment room?';
    const first = await ask(a, q);
    expect(first.source).toBe('llm');
    const second = await ask(a, q); // the second sighting: A stores it (CACHE_LEARN_MIN_COUNT=2) and shares it
    expect(second.source).toBe('llm');
    await waitFor(() => applied(b) >= 1, 'B to apply the entry A learned');
    const before = llmB.n;
    const onB = await ask(b, q);
    expect(onB.source).toBe('cache-exact');
    expect(onB.answer).toBe(first.answer);
    expect(onB.tokens).toBe(1);
    expect(llmB.n).toBe(before);
  });

  it('learn counts add up across instances: once on A and once on B makes an entry on both', async () => {
    const q = 'Do you have a wheelchair ramp at the side entrance?';
    expect((await ask(a, q)).source).toBe('llm'); // count 1 (A)
    const appliedA = applied(a);
    expect((await ask(b, q)).source).toBe('llm'); // count 2 (B): B stores and shares it
    await waitFor(() => applied(a) > appliedA, 'A to apply the entry B stored');
    const llmBefore = llmA.n;
    const third = await ask(a, q);
    expect(third.source).toBe('cache-exact');
    expect(llmA.n).toBe(llmBefore);
  });

  it('B answers GET /calls/:sid for a call on A, and a status callback B receives shows on A', async () => {
    const caller = new RelayCaller({ baseUrl: a.url, workflow: 'demo-relay' });
    await caller.connect();
    await caller.turn('Is there parking at the clinic?');
    const sid = caller.callSid;
    expect(b.engine.registry.recentRelay.get(sid)).toBeUndefined(); // B never held it
    const get = (t: TestEngine) => fetch(`${t.url}/calls/${sid}`, { headers: { authorization: `Bearer ${API}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    let v = await get(b);
    const t0 = Date.now();
    while ((v.status !== 200 || !v.body.turns.some((x: any) => x.user === 'Is there parking at the clinic?')) && Date.now() - t0 < 5000) {
      await new Promise((r) => setTimeout(r, 50));
      v = await get(b);
    }
    expect(v.status).toBe(200);
    expect(v.body).toMatchObject({ callSid: sid, owner: 'instance-a', mode: 'relay', workflow: 'demo-relay' });
    expect(v.body.turns.map((x: any) => x.user)).toContain('Is there parking at the clinic?');
    expect(v.body.history).toBeUndefined(); // the conversation stays on A

    const status = await fetch(`${b.url}/twilio/status`, { method: 'POST', body: new URLSearchParams({ CallSid: sid, CallStatus: 'in-progress', SequenceNumber: '2' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(status.status).toBe(204);
    let onA = await get(a);
    const t1 = Date.now();
    while (onA.body.status !== 'in-progress' && Date.now() - t1 < 5000) {
      await new Promise((r) => setTimeout(r, 50));
      onA = await get(a);
    }
    expect(onA.body.status).toBe('in-progress');
    expect(onA.body.owner).toBe('instance-a');
    expect(onA.body.history.length).toBeGreaterThan(0); // A held it: its own session, joined with B's callback
    await caller.hangup();
    const unknown = await fetch(`${b.url}/calls/CA${'0'.repeat(32)}`, { headers: { authorization: `Bearer ${API}` } });
    expect(unknown.status).toBe(404);
  });

  it('a breaker that opens on A opens on B', async () => {
    const name = 'shared-breaker-probe';
    a.engine.health.register(name, 'llm');
    b.engine.health.register(name, 'llm');
    const breakerA = a.engine.health.breaker(name);
    for (let i = 0; i < 10 && breakerA.state !== 'open'; i++) breakerA.failure('connection refused');
    expect(breakerA.state).toBe('open');
    await waitFor(() => b.engine.health.breaker(name).state === 'open', 'B to open its breaker');
    expect(b.engine.health.snapshot().providers.find((p) => p.provider === name)?.breaker).toBe('open');
  });

  it('/health lists both instances and the Redis link', async () => {
    const h = await fetch(`${a.url}/health`).then((r) => r.json() as Promise<any>);
    expect(h.shared.redis.status).toBe('up');
    await waitFor(() => (a.engine.shared!.health() as any).instances.length === 2, 'both heartbeats');
    const again = await fetch(`${a.url}/health`).then((r) => r.json() as Promise<any>);
    expect(again.shared.instances.map((i: any) => i.instance).sort()).toEqual(['instance-a', 'instance-b']);
  });
});
