// The FactoryContext as a plug-in author meets it: its own env variable names in fallbacks and
// errors, `required: true` typed as string, a warning for a spec key nobody reads (a typo),
// and the unknown-provider error pointing at WEAVER_PLUGINS.
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { registerProvider, type FactoryContext } from '../../adapters/kit/registry.ts';
import type { LlmProvider } from '../../adapters/kit/types.ts';
import type { Logger } from '../../adapters/kit/log.ts';
import type { Logger as EngineLogger } from '../../engine/log.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { loadConfig } from '../../engine/config.ts';
import { parseWorkflow } from '../../engine/workflow.ts';

const wf = (llm: object[]) => parseWorkflow({ id: 'demo', providers: { llm } }, 'test');

/** A logger that keeps its warnings. */
function recorder(): { log: Logger; warnings: Array<{ obj: object; msg?: string }> } {
  const warnings: Array<{ obj: object; msg?: string }> = [];
  const nothing = () => {};
  const log: Logger = {
    child: () => log,
    debug: nothing,
    info: nothing,
    error: nothing,
    warn: ((obj: object | string, msg?: string) => warnings.push(typeof obj === 'string' ? { obj: {}, msg: obj } : { obj, msg })) as Logger['warn'],
  };
  return { log, warnings };
}

let seen: { apiKey?: string; model?: string; url?: string } = {};
const murmur = (c: FactoryContext): LlmProvider => {
  const apiKey = c.str('apiKey', { env: 'MURMUR_API_KEY', required: true });
  const url = c.url('baseURL', ['http', 'https'], { env: 'MURMUR_URL', required: true });
  const model = c.str('model', { def: 'murmur-1' });
  expectTypeOf(apiKey).toEqualTypeOf<string>();
  expectTypeOf(url).toEqualTypeOf<string>();
  expectTypeOf(model).toEqualTypeOf<string>();
  expectTypeOf(c.str('name')).toEqualTypeOf<string | undefined>();
  seen = { apiKey, model, url };
  return { name: `murmur/${model}`, stream: async function* () {} };
};
registerProvider('llm', 'murmur-ctx', murmur);

afterEach(() => {
  vi.unstubAllEnvs();
  seen = {};
});

describe('FactoryContext for a plug-in', () => {
  it("names the plug-in's own env variable when a required setting is missing", () => {
    vi.stubEnv('MURMUR_API_KEY', '');
    expect(() => buildProviders(wf([{ provider: 'murmur-ctx', baseURL: 'http://x' }]), loadConfig({}))).toThrow('llm[0] murmur-ctx: apiKey missing: set MURMUR_API_KEY or providers.llm[0].apiKey');
  });

  it('falls back to that variable from the environment, and the spec wins over it', () => {
    vi.stubEnv('MURMUR_API_KEY', 'from-env');
    vi.stubEnv('MURMUR_URL', 'http://murmur.local');
    buildProviders(wf([{ provider: 'murmur-ctx' }]), loadConfig({}));
    expect(seen).toEqual({ apiKey: 'from-env', url: 'http://murmur.local', model: 'murmur-1' });
    buildProviders(wf([{ provider: 'murmur-ctx', apiKey: 'from-spec' }]), loadConfig({}));
    expect(seen.apiKey).toBe('from-spec');
  });

  it("reads an engine config key from the validated config, not the process's environment", () => {
    vi.stubEnv('OPENAI_API_KEY', 'in-process-env');
    // loadConfig({}) read no environment: the engine's own keys come only from its config.
    expect(() => buildProviders(wf([{ provider: 'openai' }]), loadConfig({}))).toThrow('apiKey missing: set OPENAI_API_KEY');
  });

  it('warns about a spec key the factory never read, suggesting the near one', () => {
    const { log, warnings } = recorder();
    buildProviders(wf([{ provider: 'openai', apiKey: 'k', temprature: 0.2, model: 'm', voice: 'alloy' }]), loadConfig({}), { log: log as unknown as EngineLogger });
    expect(warnings.map((w) => w.msg)).toEqual(['providers.llm[0] (openai): unknown setting "temprature" ignored (did you mean "temperature"?)']);
    expect(warnings[0].obj).toMatchObject({ key: 'temprature', path: 'providers.llm[0]' });
  });

  it('counts keys a factory reads straight from spec as known', () => {
    const { log, warnings } = recorder();
    registerProvider('llm', 'spec-reader', (c) => ({ name: String(c.spec.flavour), stream: async function* () {} }));
    buildProviders(wf([{ provider: 'spec-reader', flavour: 'x', bogus: 1 }]), loadConfig({}), { log: log as unknown as EngineLogger });
    expect(warnings.map((w) => (w.obj as { key: string }).key)).toEqual(['bogus']);
  });

  it('an unknown provider name points at WEAVER_PLUGINS', () => {
    expect(() => buildProviders(wf([{ provider: 'murmur' }]), loadConfig({}))).toThrow(/unknown llm provider "murmur" \(known: .*; a plug-in's adapters load with WEAVER_PLUGINS/);
  });
});
