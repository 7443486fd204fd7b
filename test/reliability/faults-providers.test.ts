// The primary LLM fails in live calls — it refuses (503, then its port closed), hangs before the
// first byte, or dies mid-stream — with the real OpenAI client against two loopback fakes (WEAVER_LLM_CHAIN).
// Each turn it fails is finished by the secondary, every word once, the call is never closed, and
// a second call on the same engine keeps being answered. Delays only order events; no durations asserted.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { startFakeOpenAi, type FakeOpenAi, type Fault } from '../support/fake-openai.ts';

const ANSWER = 'Our clinic is open from eight in the morning until six in the evening, Monday to Friday.';
let primary: FakeOpenAi;
let secondary: FakeOpenAi;
let t: TestEngine;

beforeAll(async () => {
  primary = await startFakeOpenAi({ reply: ANSWER, chunkDelayMs: 5 });
  secondary = await startFakeOpenAi({ reply: ANSWER, continuation: 'rest', chunkDelayMs: 5 });
  const spec = (f: FakeOpenAi, name: string) => ({ provider: 'openai', name, apiKey: 'k', baseURL: f.baseURL, model: 'm' });
  t = await startTestEngine({
    PERFORMANCE_CACHE_ENABLED: false,
    WEAVER_LLM_CHAIN: JSON.stringify([spec(primary, 'primary'), spec(secondary, 'secondary')]),
    FIRST_OUTPUT_TIMEOUT_MS: 1500,
    STREAM_STALL_TIMEOUT_MS: 500,
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([primary?.close(), secondary?.close()]);
});

async function rescued(): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => /^weaver_provider_(failovers|hedges)_total\{provider="primary"/.test(l))
    .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

describe('the primary LLM fails in a live call', () => {
  it('refusing, hanging and dying mid-stream: each turn is finished by the secondary, word for word, and no call is closed', async () => {
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    const bystander = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    await bystander.connect();
    const ask = async (c: RelayCaller) => {
      const r = await c.turn('What are your opening hours on weekdays?');
      expect(r.timedOut).toBe(false);
      expect(r.answer.trim()).toBe(ANSWER); // every word once, none missing
      return r;
    };
    await ask(caller);
    await ask(bystander);

    const faults: Array<[string, Fault]> = [
      ['refuses (503)', { kind: 'status', status: 503, message: 'overloaded' }],
      ['hangs before the first byte', { kind: 'hang' }],
      ['dies mid-stream', { kind: 'disconnect', afterChunks: 4 }],
    ];
    for (const [what, fault] of faults) {
      primary.setFaults([fault]);
      const before = { rescued: await rescued(), secondary: secondary.requests.length };
      await ask(caller);
      expect(secondary.requests.length, what).toBeGreaterThan(before.secondary);
      expect(await rescued(), what).toBeGreaterThan(before.rescued);
      await ask(bystander); // the primary is fine again: the other call never saw the fault
    }

    // The primary's port closed: connections refused; the secondary carries both calls.
    await primary.close();
    await ask(caller);
    await ask(bystander);

    expect(caller.closeCode).toBeUndefined();
    expect(bystander.closeCode).toBeUndefined();
    for (const c of [caller, bystander]) {
      const call = t.engine.registry.recentRelay.get(c.callSid)!;
      expect(call.turns.filter((x) => x.index > 0).every((x) => x.source === 'llm')).toBe(true); // no fallback line
      await c.hangup();
    }
  });
});
