import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../engine/config.ts';
import { parseWorkflow } from '../../engine/workflow.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { registerProvider } from '../../adapters/kit/registry.ts';
import { ProviderHealth } from '../../engine/providers/health.ts';
import { HedgedLlm, HedgedTts } from '../../engine/providers/chain.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';

const wf = (providers: object) => parseWorkflow({ id: 'demo', providers }, 'test');
const cfg = (env: Record<string, string> = {}) => loadConfig(env);

let fake: FakeOpenAi;
beforeAll(async () => {
  fake = await startFakeOpenAi({ reply: 'Answer from the fake.' });
});
afterAll(() => fake?.close());

describe('buildProviders', () => {
  it('builds the local defaults with no keys, each a plain provider', () => {
    const p = buildProviders(wf({}), cfg());
    expect([p.stt.name, p.llm.name, p.tts.name]).toEqual(['simulated', 'workflow', 'espeak']);
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
