import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../engine/config.ts';
import { parseWorkflow } from '../../engine/workflow.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { registerProvider } from '../../adapters/kit/registry.ts';
import { ProviderHealth } from '../../engine/providers/health.ts';
import { HedgedLlm, HedgedTts } from '../../engine/providers/chain.ts';
import { hedgeDelay } from '../../engine/providers/hedge.ts';
import { ProviderError } from '../../adapters/kit/types.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';

const wf = (providers: object) => parseWorkflow({ id: 'demo', providers }, 'test');
const cfg = (env: Record<string, string> = {}) => loadConfig(env);
const ctx = { callId: 'c', workflow: 'demo', language: 'en-US', parameters: {} };

let fake: FakeOpenAi;
beforeAll(async () => {
  fake = await startFakeOpenAi({ reply: 'Answer from the fake.' });
});
afterAll(() => fake?.close());

describe('buildProviders', () => {
  it('builds the local defaults with no keys, each a chain of one named after its provider', () => {
    const p = buildProviders(wf({}), cfg());
    expect([p.stt.name, p.llm.name, p.tts.name]).toEqual(['simulated', 'workflow', 'espeak']);
  });

  it('a chain of one provider reports requests, errors and first-output times to health (as /health and /metrics show them)', async () => {
    const health = new ProviderHealth();
    const p = buildProviders(wf({ llm: [{ provider: 'openai', apiKey: 'k', baseURL: fake.baseURL, model: 'solo' }] }), cfg({ SIM_STT_LATENCY_MS: '1' }), { health });
    const stats = (name: string) => health.snapshot().providers.find((s) => s.provider === name)!;
    const ask = () => p.llm.stream({ ctx, messages: [{ role: 'user', content: 'hi' }], signal: new AbortController().signal });
    let text = '';
    for await (const c of ask()) text += c.text;
    expect(text).toBe('Answer from the fake.');
    fake.setFaults([{ kind: 'status', status: 503 }]);
    const e = await (async () => {
      for await (const _ of ask()) void _;
    })().catch((x) => x);
    expect(e).toBeInstanceOf(ProviderError); // the adapter's own error, passed through
    expect(e.provider).toBe('openai/solo');
    expect(stats('openai/solo')).toMatchObject({ role: 'llm', requests: 2, errors: 1, errorsByKind: { server: 1 }, hedges: 0 });
    expect(stats('openai/solo').ttftMs.count).toBe(1);

    const s = p.stt.open(ctx, new AbortController().signal);
    s.push(new Int16Array(160), true);
    await s.endTurn(new AbortController().signal);
    s.close();
    expect(stats('simulated')).toMatchObject({ role: 'stt', requests: 1, errors: 0 });
    expect(stats('simulated').ttftMs.count).toBe(1);
  });

  it('reads a provider spec\'s expectedFirstOutputMs as the prior of its hedge delay, validated', () => {
    const specs = [{ provider: 'openai', apiKey: 'k', model: 'a', expectedFirstOutputMs: 120 }, { provider: 'workflow' }];
    const p = buildProviders(wf({ llm: specs }), cfg());
    const chain = p.llm as HedgedLlm;
    expect(chain.candidates.map((c) => c.expectedFirstOutputMs)).toEqual([120, undefined]);
    expect(hedgeDelay(chain.health, 'openai/a', chain.settings, 120)).toBe(300); // 2.5 × 120, no samples yet
    expect(hedgeDelay(chain.health, 'workflow', chain.settings)).toBe(1000); // 2.5 × HEDGE_PRIOR_MS
    expect(() => buildProviders(wf({ llm: [{ provider: 'workflow', expectedFirstOutputMs: 'fast' }] }), cfg())).toThrow('llm[0] workflow: expectedFirstOutputMs must be a number');
  });

  it('hedging settings come from the configuration, validated at startup', () => {
    const p = buildProviders(wf({ llm: [{ provider: 'workflow' }, { provider: 'openai', apiKey: 'k' }] }), cfg({ HEDGE_PRIOR_MS: '200', HEDGE_TAIL_MULTIPLE: '3', HEDGE_BUDGET_TOKENS: '4', HEDGE_BUDGET_RATIO: '0.5' }));
    const chain = p.llm as HedgedLlm;
    expect(chain.settings).toMatchObject({ priorMs: 200, tailMultiple: 3 });
    expect([chain.budget.maxTokens, chain.budget.ratio]).toEqual([4, 0.5]);
    expect(() => cfg({ HEDGE_TAIL_MULTIPLE: '0.5' })).toThrow(/HEDGE_TAIL_MULTIPLE/);
    expect(() => cfg({ HEDGE_PRIOR_MS: '0' })).toThrow(/HEDGE_PRIOR_MS/);
    expect(() => cfg({ HEDGE_BUDGET_TOKENS: '0' })).toThrow(/HEDGE_BUDGET_TOKENS/);
  });

  it('names the missing key and where to set it', () => {
    expect(() => buildProviders(wf({ llm: [{ provider: 'openai' }] }), cfg())).toThrow('workflow demo: llm[0] openai: apiKey missing: set OPENAI_API_KEY or providers.llm[0].apiKey');
  });

  it('reports every bad spec in one error: bad endpoint, unknown provider, bad option type', () => {
    let msg = '';
    try {
      buildProviders(wf({ llm: [{ provider: 'azure-openai', apiKey: 'k', endpoint: 'not a url', deployment: 'd' }, { provider: 'nope' }], tts: [{ provider: 'openai', apiKey: 'k', speed: 'fast' }] }), cfg());
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^workflow demo: /);
    expect(msg).toContain('llm[0] azure-openai: endpoint "not a url" is not a valid URL (AZURE_OPENAI_ENDPOINT or providers.llm[0].endpoint)');
    expect(msg).toContain('llm[1] nope: unknown llm provider "nope"');
    expect(msg).toContain('tts[0] openai: speed must be a number');
  });

  it('takes keys from the config and wraps longer chains in a hedged chain', async () => {
    const health = new ProviderHealth();
    const p = buildProviders(wf({ llm: [{ provider: 'openai', baseURL: fake.baseURL, model: 'a' }, { provider: 'workflow' }], tts: [{ provider: 'espeak' }, { provider: 'openai', voice: 'alloy' }] }), cfg({ OPENAI_API_KEY: 'sk-env' }), { health });
    expect(p.llm).toBeInstanceOf(HedgedLlm);
    expect(p.tts).toBeInstanceOf(HedgedTts);
    expect(p.llm.name.startsWith('openai/a')).toBe(true);
    let text = '';
    for await (const c of p.llm.stream({ ctx: { callId: 'c', workflow: 'demo', language: 'en-US', parameters: {} }, messages: [{ role: 'user', content: 'hi' }], signal: new AbortController().signal })) text += c.text;
    expect(text).toBe('Answer from the fake.');
    expect(fake.requests.at(-1)!.auth).toBe('sk-env');
    expect(health.snapshot().providers.map((s) => s.provider)).toEqual(expect.arrayContaining(['openai/a', 'workflow', 'espeak']));
  });

  it('WEAVER_LLM_CHAIN overrides the workflow chain and is validated by name', () => {
    const chain = JSON.stringify([{ provider: 'openai', apiKey: 'k', baseURL: fake.baseURL, model: 'x' }, { provider: 'azure-openai', apiKey: 'k', endpoint: 'https://r.openai.azure.com', deployment: 'd' }]);
    const p = buildProviders(wf({}), cfg({ WEAVER_LLM_CHAIN: chain }));
    expect(p.llm.name).toBe('openai/x > azure-openai/d');
    expect(() => buildProviders(wf({}), cfg({ WEAVER_LLM_CHAIN: '{oops' }))).toThrow(/WEAVER_LLM_CHAIN is not valid JSON/);
    expect(() => buildProviders(wf({}), cfg({ WEAVER_LLM_CHAIN: '[]' }))).toThrow(/WEAVER_LLM_CHAIN must be a non-empty JSON array/);
    expect(() => buildProviders(wf({}), cfg({ WEAVER_LLM_CHAIN: '[{"provider":"openai"}]' }))).toThrow('WEAVER_LLM_CHAIN[0] openai: apiKey missing: set OPENAI_API_KEY or WEAVER_LLM_CHAIN[0].apiKey');
  });

  it('PERFORMANCE_FAILOVER_ENABLED=false uses the first provider only', () => {
    const p = buildProviders(wf({ llm: [{ provider: 'workflow' }, { provider: 'openai', apiKey: 'k' }] }), cfg({ PERFORMANCE_FAILOVER_ENABLED: 'false' }));
    expect(p.llm.name).toBe('workflow');
  });

  it('Azure Speech needs a region or an endpoint', () => {
    expect(() => buildProviders(wf({ tts: [{ provider: 'azure-speech', key: 'k' }] }), cfg())).toThrow(/tts\[0\] azure-speech: region missing: set AZURE_SPEECH_REGION or providers.tts\[0\].region/);
    expect(buildProviders(wf({ tts: [{ provider: 'azure-speech' }] }), cfg({ AZURE_SPEECH_KEY: 'k', AZURE_SPEECH_REGION: 'westeurope' })).tts.name).toBe('azure-speech-tts');
  });

  it('plug-ins register factories by role and name', async () => {
    registerProvider('llm', 'echo', (c) => {
      const prefix = c.str('prefix', { required: true })!;
      return {
        name: 'echo',
        async *stream(r) {
          yield { text: prefix + r.messages.at(-1)!.content };
        },
      };
    });
    expect(() => buildProviders(wf({ llm: [{ provider: 'echo' }] }), cfg())).toThrow('llm[0] echo: prefix missing: set providers.llm[0].prefix');
    const p = buildProviders(wf({ llm: [{ provider: 'echo', prefix: '> ' }] }), cfg());
    let t = '';
    for await (const c of p.llm.stream({ ctx: { callId: 'c', workflow: 'demo', language: 'en', parameters: {} }, messages: [{ role: 'user', content: 'ping' }], signal: new AbortController().signal })) t += c.text;
    expect(t).toBe('> ping');
  });
});
