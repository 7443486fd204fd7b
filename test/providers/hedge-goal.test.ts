// Issue 14's hedging goal against loopback fakes: two OpenAI-compatible endpoints in
// WEAVER_LLM_CHAIN (test/support/fake-openai.ts speaks the real SSE protocol; the real `openai`
// client is used), default settings, 30 turns from a cold start, the primary's first token late
// on 6 of them, turn 0 included (no samples yet: the delay comes from the prior). Asserts the
// structural facts (every stall hedged and answered by the secondary, the stalled request
// aborted, at most 3 hedges beyond the stalls, every answer from exactly one provider) and the
// hedge delays the engine chose: the cold-start hedge at 2.5 × HEDGE_PRIOR_MS = 1 s, none above
// it (a stall not hedged would wait out FIRST_OUTPUT_TIMEOUT_MS, 4 s). The wall-clock goal (slowest
// first token < 1.5 s) depends on the machine's load, so bench/hedge.bench.ts measures it.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { loadConfig } from '../../engine/config.ts';
import { parseWorkflow } from '../../engine/workflow.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { ProviderHealth, type HealthEvent } from '../../engine/providers/health.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';

const PRIMARY = 'Primary here: we are open from nine to five.';
const SECONDARY = 'Secondary here: we are open from nine to five.';
const STALL_MS = 6000;
/** 2.5 × HEDGE_PRIOR_MS (400): the delay before a provider has samples. */
const COLD_DELAY_MS = 1000;
const STALLED = new Set([0, 4, 9, 15, 21, 27]);
let primary: FakeOpenAi;
let secondary: FakeOpenAi;

beforeAll(async () => {
  primary = await startFakeOpenAi({ reply: PRIMARY });
  secondary = await startFakeOpenAi({ reply: SECONDARY });
});
afterAll(async () => {
  await Promise.all([primary?.close(), secondary?.close()]);
});

it('two OpenAI-compatible endpoints, the primary stalling on 6 of 30 turns from a cold start: every stall hedged, ≤ 3 other hedges, one provider per answer, hedge delays within the cold-start delay', async () => {
  const chain = JSON.stringify([
    { provider: 'openai', apiKey: 'k', baseURL: primary.baseURL, model: 'primary' },
    { provider: 'openai', apiKey: 'k', baseURL: secondary.baseURL, model: 'secondary' },
  ]);
  const health = new ProviderHealth();
  const hedges: HealthEvent[] = [];
  health.on('hedge', (e: HealthEvent) => hedges.push(e));
  const { llm } = buildProviders(parseWorkflow({ id: 'goal' }, 'test'), loadConfig({ WEAVER_LLM_CHAIN: chain }), { health });
  const ctx = { callId: 'c', workflow: 'goal', language: 'en-US', parameters: {} };

  const turns: Array<{ text: string; hedged: number; primaryRequest: number }> = [];
  for (let i = 0; i < 30; i++) {
    primary.setFaults(STALLED.has(i) ? [{ kind: 'slow-first', ms: STALL_MS }] : [], { kind: 'ok' });
    const primaryRequest = primary.requests.length;
    const before = hedges.length;
    let text = '';
    for await (const c of llm.stream({ ctx, messages: [{ role: 'user', content: `question ${i}` }], signal: new AbortController().signal })) {
      text += c.text;
    }
    turns.push({ text, hedged: hedges.length - before, primaryRequest });
  }

  // Every answer is one provider's, whole.
  for (const t of turns) expect([PRIMARY, SECONDARY]).toContain(t.text);
  // Each stall was hedged, the secondary answered, and the stalled request was aborted.
  for (const i of STALLED) {
    expect(turns[i]).toMatchObject({ text: SECONDARY, hedged: 1 });
    await vi.waitFor(() => expect(primary.requests[turns[i].primaryRequest].aborted).toBe(true));
  }
  const extra = turns.filter((t, i) => !STALLED.has(i)).reduce((n, t) => n + t.hedged, 0);
  expect(extra).toBeLessThanOrEqual(3);
  expect(hedges).toHaveLength(STALLED.size + extra);
  expect(primary.requests).toHaveLength(30); // the breaker never skipped the primary
  // The delays chosen: no hedge waited longer than the cold-start delay, and the later ones
  // (with samples of a fast primary) were shorter.
  for (const h of hedges) expect(h.type === 'hedge' && h.delayMs).toBeLessThanOrEqual(COLD_DELAY_MS);
  const later = hedges.slice(1).map((h) => (h.type === 'hedge' ? h.delayMs : Infinity));
  expect(Math.max(...later)).toBeLessThan(COLD_DELAY_MS);
  // /health counts both providers.
  const stats = Object.fromEntries(health.snapshot().providers.map((p) => [p.provider, p]));
  expect(stats['openai/primary'].hedges).toBe(hedges.length);
  expect(stats['openai/secondary'].ttftMs.count).toBe(hedges.length - turns.filter((t) => t.hedged && t.text === PRIMARY).length);
});
