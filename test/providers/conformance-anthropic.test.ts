// The Anthropic adapter with the real @anthropic-ai/sdk against the loopback fake of the
// Messages API (test/support/fake-anthropic.ts): the conformance suite, then the request on the
// wire, faults the suite does not cover, and its registration.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLlmConformance } from '../../adapters/testkit/conformance.ts';
import { AnthropicLlm, toAnthropicMessages } from '../../adapters/anthropic/llm.ts';
import { ProviderError, type ChatMessage, type LlmProvider } from '../../adapters/kit/types.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { loadConfig } from '../../engine/config.ts';
import { parseWorkflow } from '../../engine/workflow.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic.ts';

let ok: FakeAnthropic; // healthy, key "sk-ant-test"
let faulty: FakeAnthropic; // faults set per test
let e429: FakeAnthropic;
let e529: FakeAnthropic;
let broken: FakeAnthropic; // drops the connection mid-answer
let cut: FakeAnthropic; // ends cleanly without message_stop
let overloaded: FakeAnthropic; // `event: error` mid-answer

beforeAll(async () => {
  ok = await startFakeAnthropic({ apiKey: 'sk-ant-test' });
  faulty = await startFakeAnthropic();
  e429 = await startFakeAnthropic({ defaultFault: { kind: 'status', status: 429, retryAfter: '3' } });
  e529 = await startFakeAnthropic({ defaultFault: { kind: 'status', status: 529 } });
  broken = await startFakeAnthropic({ defaultFault: { kind: 'disconnect', afterChunks: 2 } });
  cut = await startFakeAnthropic({ defaultFault: { kind: 'truncate', afterChunks: 3 } });
  overloaded = await startFakeAnthropic({ defaultFault: { kind: 'stream-error', afterChunks: 2, type: 'overloaded_error' } });
});
afterAll(async () => {
  await Promise.all([ok, faulty, e429, e529, broken, cut, overloaded].map((f) => f?.close()));
});

const llm = (f: () => FakeAnthropic, apiKey = 'sk-ant-test') => () => new AnthropicLlm({ apiKey, baseURL: f().baseURL, model: 'claude-fake' });
describeLlmConformance('anthropic', llm(() => ok), {
  upstream: { hold: () => ok.probe.hold(), release: () => ok.probe.release(), open: () => ok.probe.open() },
  failures: [
    { name: 'HTTP 429 with retry-after: 3', kind: 'rate_limited', make: llm(() => e429), retryAfterMs: 3000 },
    { name: 'HTTP 529 overloaded', kind: 'server', make: llm(() => e529) },
    { name: 'bad key (401)', kind: 'auth', make: llm(() => ok, 'sk-wrong') },
    { name: 'connection dropped mid-answer', kind: 'server', make: llm(() => broken) },
    { name: 'stream ended without message_stop', kind: 'server', make: llm(() => cut) },
    { name: 'event: error (overloaded_error) mid-answer', kind: 'server', make: llm(() => overloaded) },
    { name: 'connection refused', kind: 'server', make: () => new AnthropicLlm({ apiKey: 'k', baseURL: 'http://127.0.0.1:9' }) },
  ],
  invalid: [
    { name: 'no apiKey', make: () => new AnthropicLlm({ apiKey: '' }) },
    { name: 'maxTokens 0', make: () => new AnthropicLlm({ apiKey: 'k', maxTokens: 0 }) },
    { name: 'baseURL not http(s)', make: () => new AnthropicLlm({ apiKey: 'k', baseURL: 'ftp://x' }) },
  ],
});

const ctx = { callId: 'c1', workflow: 'w', language: 'en-US', parameters: {} };
async function collect(p: LlmProvider, signal = new AbortController().signal, messages: ChatMessage[] = [{ role: 'user', content: 'Hi' }]): Promise<string> {
  let text = '';
  for await (const c of p.stream({ ctx, messages, signal })) text += c.text;
  return text;
}

describe('anthropic on the wire', () => {
  it('sends the key, the API version, the model, max_tokens, the system prompt apart and stream: true', async () => {
    const before = ok.requests.length;
    const p = new AnthropicLlm({ apiKey: 'sk-ant-test', baseURL: ok.baseURL, model: 'claude-fake', maxTokens: 200 });
    const text = await collect(p, undefined, [
      { role: 'system', content: 'You are a receptionist.' },
      { role: 'assistant', content: 'Thanks for calling, how can I help?' },
      { role: 'user', content: 'When are you open?' },
    ]);
    expect(text).toBe('Hello! We are open from nine to five, Monday to Friday.');
    const r = ok.requests[before];
    expect(r.headers.authorization).toBe('Bearer sk-ant-test'); // SDK 1.x; the API also takes x-api-key
    expect(r.headers['anthropic-version']).toBe('2026-10-21');
    expect(r.body).toMatchObject({ model: 'claude-fake', max_tokens: 200, stream: true, system: 'You are a receptionist.' });
    expect(r.body).not.toHaveProperty('temperature'); // refused by API version 2026-10-21
    // The greeting came first; the API wants a user turn first, so one stands in for the call's start.
    expect(r.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('drops empty turns and merges consecutive turns of one role', () => {
    const m = toAnthropicMessages([
      { role: 'system', content: 'a' },
      { role: 'user', content: 'one' },
      { role: 'user', content: 'two' },
      { role: 'assistant', content: '' },
      { role: 'system', content: 'b' },
      { role: 'assistant', content: 'so far ' },
    ]);
    expect(m).toEqual({ system: 'a\n\nb', messages: [{ role: 'user', content: 'one\n\ntwo' }, { role: 'assistant', content: 'so far' }] });
  });

  it('a slow first token still streams; a stall mid-answer ends on abort with the connection closed', async () => {
    faulty.setFaults([{ kind: 'slow-first', ms: 150 }, { kind: 'stall', afterChunks: 2 }]);
    const p = new AnthropicLlm({ apiKey: 'k', baseURL: faulty.baseURL, model: 'm' });
    expect(await collect(p)).toMatch(/^Hello!/);
    const ac = new AbortController();
    const got: string[] = [];
    const done = (async () => {
      for await (const c of p.stream({ ctx, messages: [{ role: 'user', content: 'Hi' }], signal: ac.signal })) {
        got.push(c.text);
        if (got.length === 2) setTimeout(() => ac.abort(), 20); // the server stalls after these two
      }
    })();
    const e = await done.then(() => undefined, (x) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect((e as ProviderError).kind).toBe('aborted');
    expect(got).toHaveLength(2);
    await expect.poll(() => faulty.requests[faulty.requests.length - 1].aborted).toBe(true);
  });

  it('a hang before the headers ends as timeout when timeoutMs passes', async () => {
    faulty.setFaults([{ kind: 'hang' }]);
    const p = new AnthropicLlm({ apiKey: 'k', baseURL: faulty.baseURL, model: 'm', timeoutMs: 200 });
    const e = await collect(p).then(() => undefined, (x) => x);
    expect((e as ProviderError).kind).toBe('timeout');
  });

  it('an HTTP 400 (invalid_request_error) is bad_request, not retried', async () => {
    faulty.setFaults([{ kind: 'status', status: 400 }]);
    const e = await collect(new AnthropicLlm({ apiKey: 'k', baseURL: faulty.baseURL, model: 'm' })).then(() => undefined, (x) => x);
    expect((e as ProviderError).kind).toBe('bad_request');
    expect((e as ProviderError).retryable).toBe(false);
  });
});

describe('anthropic in the registry', () => {
  const wf = (llm: object[]) => parseWorkflow({ id: 'demo', providers: { llm } }, 'test');
  it('names ANTHROPIC_API_KEY when the key is missing, and builds from the env otherwise', () => {
    expect(() => buildProviders(wf([{ provider: 'anthropic' }]), loadConfig({}))).toThrow('llm[0] anthropic: apiKey missing: set ANTHROPIC_API_KEY or providers.llm[0].apiKey');
    const p = buildProviders(wf([{ provider: 'anthropic', model: 'claude-x' }]), loadConfig({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: ok.baseURL }));
    expect(p.llm.name).toBe('anthropic/claude-x');
  });

  it('answers through the engine chain from the fake', async () => {
    const p = buildProviders(wf([{ provider: 'anthropic', apiKey: 'sk-ant-test', baseURL: ok.baseURL }]), loadConfig({}));
    expect(await collect(p.llm)).toBe('Hello! We are open from nine to five, Monday to Friday.');
  });
});
