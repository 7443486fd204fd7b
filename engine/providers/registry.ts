// Builds each workflow's providers at startup: per role, the chain named in
// workflow.providers.<role> (for the LLM, WEAVER_LLM_CHAIN overrides it), every spec validated
// now so a missing key or a bad endpoint stops the engine with ONE error naming the setting,
// never mid-call. A chain of one provider passes through, counted in health; longer chains
// are hedged (chain.ts). Plug-ins and tests add adapters with the kit's registerProvider() (adapters/kit/registry.ts).
import type { Config } from '../config.ts';
import { ProviderSpecSchema, type ProviderSpec, type Workflow } from '../workflow.ts';
import type { Logger } from '../log.ts';
import { ProviderHealth } from './health.ts';
import { HedgeBudget, type Candidate, type HedgeSettings } from './hedge.ts';
import { HedgedLlm, HedgedStt, HedgedTts } from './chain.ts';
import { workflowScript } from './workflow-script.ts';
import { makeContext, unknownKeyWarning, type EngineContext } from './factory-context.ts';
import { ProviderConfigError, providerFactory, registerProvider, registeredProviders, type ProviderFactory, type Providers, type Role } from '../../adapters/kit/registry.ts';
import { silentLogger } from '../../adapters/kit/log.ts';
import { SimulatedStt } from '../../adapters/local/simulated-stt.ts';
import { WorkflowResponder } from '../../adapters/local/workflow-responder.ts';
import { EspeakTts } from '../../adapters/local/espeak-tts.ts';
import { OpenAiLlm } from '../../adapters/openai/llm.ts';
import { OpenAiStt } from '../../adapters/openai/stt.ts';
import { OpenAiTts } from '../../adapters/openai/tts.ts';
import { AzureOpenAiLlm } from '../../adapters/azure-openai/llm.ts';
import { AzureStt } from '../../adapters/azure-speech/stt.ts';
import { AzureTts } from '../../adapters/azure-speech/tts.ts';
import { AnthropicLlm } from '../../adapters/anthropic/llm.ts';
import { DeepgramStt } from '../../adapters/deepgram/stt.ts';
import { ElevenLabsTts } from '../../adapters/elevenlabs/tts.ts';

export type { Providers };

// ---------------------------------------------------------------------------- built-ins

// Registered only under free names: a plug-in loaded before this module keeps its adapter.
function builtIn<R extends Role>(role: R, name: string, factory: ProviderFactory<R, Config>): void {
  if (!providerFactory(role, name)) registerProvider(role, name, factory);
}

builtIn('stt', 'simulated', (c) => new SimulatedStt({ latencyMs: c.config.SIM_STT_LATENCY_MS, log: c.log }));
builtIn('llm', 'workflow', (c) => new WorkflowResponder(c.workflow, { log: c.log }));
builtIn('tts', 'espeak', (c) => new EspeakTts({ log: c.log }));

const timeout = (c: EngineContext) => c.num('timeoutMs', { min: 100 });
const openAiCommon = (c: EngineContext) => ({
  apiKey: c.str('apiKey', { env: 'OPENAI_API_KEY', required: true })!,
  baseURL: c.url('baseURL', ['http', 'https'], { env: 'OPENAI_BASE_URL' }),
  timeoutMs: timeout(c),
  name: c.str('name'),
});
builtIn('llm', 'openai', (c) => new OpenAiLlm({ ...openAiCommon(c), model: c.str('model', { def: 'gpt-4o-mini' })!, temperature: c.num('temperature', { min: 0, max: 2 }), maxTokens: c.num('maxTokens', { min: 1 }) }));
builtIn('stt', 'openai', (c) => new OpenAiStt({ ...openAiCommon(c), model: c.str('model'), prompt: c.str('prompt'), languageHint: (c.spec as { languageHint?: boolean }).languageHint === true }));
builtIn('tts', 'openai', (c) => {
  const format = c.str('format', { def: 'pcm' });
  if (format !== 'pcm' && format !== 'wav') throw new ProviderConfigError(`format must be "pcm" or "wav" (${c.path}.format), got "${format}"`);
  return new OpenAiTts({ ...openAiCommon(c), model: c.str('model'), voice: c.str('voice'), format, speed: c.num('speed', { min: 0.25, max: 4 }), instructions: c.str('instructions') });
});
builtIn('llm', 'azure-openai', (c) => {
  const endpoint = c.url('endpoint', ['https', 'http'], { env: 'AZURE_OPENAI_ENDPOINT', required: true })!;
  return new AzureOpenAiLlm({
    apiKey: c.str('apiKey', { env: 'AZURE_OPENAI_API_KEY', required: true })!,
    endpoint,
    deployment: c.str('deployment', { env: 'AZURE_OPENAI_DEPLOYMENT', required: true })!,
    apiVersion: c.str('apiVersion', { env: 'AZURE_OPENAI_API_VERSION', required: true })!,
    temperature: c.num('temperature', { min: 0, max: 2 }),
    maxTokens: c.num('maxTokens', { min: 1 }),
    timeoutMs: timeout(c),
    name: c.str('name'),
  });
});
const azureSpeechAuth = (c: EngineContext) => {
  const key = c.str('key', { env: 'AZURE_SPEECH_KEY', required: true })!;
  const endpoint = c.url('endpoint', ['wss', 'ws', 'https', 'http'], { env: 'AZURE_SPEECH_ENDPOINT' });
  const region = c.str('region', { env: 'AZURE_SPEECH_REGION' });
  if (!endpoint && !region) throw new ProviderConfigError(`region missing: set AZURE_SPEECH_REGION or ${c.path}.region (or AZURE_SPEECH_ENDPOINT / ${c.path}.endpoint)`);
  if (region && !/^[a-z0-9]+$/.test(region)) throw new ProviderConfigError(`region "${region}" is not an Azure region name like "westeurope"`);
  return { key, endpoint, region, name: c.str('name') };
};
builtIn('stt', 'azure-speech', (c) => new AzureStt({ ...azureSpeechAuth(c), languages: c.strings('languages'), segmentationSilenceMs: c.num('segmentationSilenceMs', { min: 100, max: 5000 }), finalWaitMs: c.num('finalWaitMs', { min: 0 }) }));
builtIn('tts', 'azure-speech', (c) => new AzureTts({ ...azureSpeechAuth(c), voice: c.str('voice'), rate: c.str('rate') }));
builtIn('stt', 'deepgram', (c) =>
  new DeepgramStt({
    apiKey: c.str('apiKey', { env: 'DEEPGRAM_API_KEY', required: true }),
    url: c.url('url', ['wss', 'ws'], { env: 'DEEPGRAM_URL' }),
    model: c.str('model'),
    language: c.str('language'),
    endpointingMs: c.num('endpointingMs', { min: 10, max: 10_000 }),
    utteranceEndMs: c.num('utteranceEndMs', { min: 1000, max: 10_000 }),
    smartFormat: c.spec.smartFormat === undefined ? undefined : c.spec.smartFormat === true,
    finalWaitMs: c.num('finalWaitMs', { min: 0 }),
    name: c.str('name'),
  }),
);
builtIn('tts', 'elevenlabs', (c) =>
  new ElevenLabsTts({
    apiKey: c.str('apiKey', { env: 'ELEVENLABS_API_KEY', required: true }),
    baseURL: c.url('baseURL', ['http', 'https'], { env: 'ELEVENLABS_BASE_URL' }),
    voice: c.str('voice'),
    modelId: c.str('modelId'),
    stability: c.num('stability', { min: 0, max: 1 }),
    similarityBoost: c.num('similarityBoost', { min: 0, max: 1 }),
    speed: c.num('speed', { min: 0.7, max: 1.2 }),
    timeoutMs: timeout(c),
    name: c.str('name'),
  }),
);
builtIn('llm', 'anthropic', (c) =>
  new AnthropicLlm({
    apiKey: c.str('apiKey', { env: 'ANTHROPIC_API_KEY', required: true }),
    baseURL: c.url('baseURL', ['http', 'https'], { env: 'ANTHROPIC_BASE_URL' }),
    model: c.str('model'),
    maxTokens: c.num('maxTokens', { min: 1 }),
    timeoutMs: timeout(c),
    name: c.str('name'),
  }),
);

// ---------------------------------------------------------------------------- building

/** Parses WEAVER_LLM_CHAIN; throws one error naming the variable. */
export function parseLlmChain(raw: string): ProviderSpec[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new Error(`WEAVER_LLM_CHAIN is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(v) || v.length === 0) throw new Error('WEAVER_LLM_CHAIN must be a non-empty JSON array of {"provider": "openai" | "azure-openai", …}');
  return v.map((item, i) => {
    const r = ProviderSpecSchema.safeParse(item);
    if (!r.success) throw new Error(`WEAVER_LLM_CHAIN[${i}] must be an object with a "provider" name, got ${JSON.stringify(item)}`);
    return r.data;
  });
}

export interface BuildOptions {
  log?: Logger;
  health?: ProviderHealth;
}

export function hedgeSettings(config: Config): HedgeSettings {
  return {
    hedging: true,
    minDelayMs: config.HEDGE_MIN_DELAY_MS,
    maxDelayMs: Math.max(config.HEDGE_MIN_DELAY_MS, config.HEDGE_MAX_DELAY_MS),
    firstOutputTimeoutMs: config.FIRST_OUTPUT_TIMEOUT_MS,
    stallTimeoutMs: config.STREAM_STALL_TIMEOUT_MS,
    minSamples: 20,
    quantile: 0.95,
    priorMs: config.HEDGE_PRIOR_MS,
    priorWeight: 3,
    tailMultiple: config.HEDGE_TAIL_MULTIPLE,
  };
}

export function buildProviders(workflow: Workflow, config: Config, opts: BuildOptions = {}): Providers {
  const health = opts.health ?? new ProviderHealth();
  health.setBreakerOptions({
    failureThreshold: config.BREAKER_FAILURES,
    failureRatio: config.BREAKER_FAILURE_RATIO,
    windowMs: config.BREAKER_WINDOW_MS,
    minRequests: config.BREAKER_MIN_REQUESTS,
    cooldownMs: config.BREAKER_COOLDOWN_MS,
  });
  const problems: string[] = [];
  const script = workflowScript(workflow);
  const factoryLog = (opts.log ?? silentLogger).child({ workflow: workflow.id });
  const build = <R extends Role>(role: R, specs: ProviderSpec[], base: string): Candidate<Providers[R]>[] => {
    const out: Candidate<Providers[R]>[] = [];
    specs.forEach((spec, i) => {
      const path = `${base}[${i}]`;
      const label = `${base.replace(/^providers\./, '')}[${i}] ${spec.provider}`;
      const factory = providerFactory(role, spec.provider);
      if (!factory) {
        problems.push(`${label}: unknown ${role} provider "${spec.provider}" (known: ${registeredProviders(role).join(', ')}; a plug-in's adapters load with WEAVER_PLUGINS=./path/to/plugin.ts)`);
        return;
      }
      try {
        const tracked = makeContext(spec, script, config, factoryLog, path);
        const ctx = tracked.ctx;
        const provider = factory(ctx);
        // The hedge delay's prior for this provider (any role); HEDGE_PRIOR_MS when absent.
        const expectedFirstOutputMs = ctx.num('expectedFirstOutputMs', { min: 1, max: 60_000 });
        for (const key of tracked.unreadKeys()) ctx.log.warn({ path, key }, unknownKeyWarning(key, tracked.readKeys(), `${path} (${spec.provider})`));
        let name = provider.name;
        if (out.some((c) => c.name === name)) name = `${name}#${i}`;
        const v = (spec as Record<string, unknown>).voice;
        const voice = typeof v === 'string' && v ? v : undefined;
        out.push({ name, provider, voice, expectedFirstOutputMs });
      } catch (e) {
        problems.push(`${label}: ${(e as Error).message}`);
      }
    });
    if (specs.length === 0) problems.push(`${base}: at least one provider is required`);
    return out;
  };

  let llmSpecs = workflow.providers.llm;
  let llmBase = 'providers.llm';
  if (config.WEAVER_LLM_CHAIN) {
    llmSpecs = parseLlmChain(config.WEAVER_LLM_CHAIN);
    llmBase = 'WEAVER_LLM_CHAIN';
  }
  const stt = build('stt', workflow.providers.stt, 'providers.stt');
  const llm = build('llm', llmSpecs, llmBase);
  const tts = build('tts', workflow.providers.tts, 'providers.tts');
  if (problems.length) throw new Error(`workflow ${workflow.id}: ${problems.join('; ')}`);

  const settings = hedgeSettings(config);
  const log = opts.log?.child({ component: 'providers', workflow: workflow.id });
  const chainOpts = () => ({ health, settings, log, budget: new HedgeBudget({ maxTokens: config.HEDGE_BUDGET_TOKENS, ratio: config.HEDGE_BUDGET_RATIO }) });
  // PERFORMANCE_FAILOVER_ENABLED=false: the first provider only, exactly as configured.
  const pick = <P>(c: Candidate<P>[]) => (config.PERFORMANCE_FAILOVER_ENABLED ? c : c.slice(0, 1));
  const s = pick(stt);
  const l = pick(llm);
  const t = pick(tts);
  for (const [role, cs] of [['stt', s], ['llm', l], ['tts', t]] as const) for (const c of cs) health.register(c.name, role);
  return {
    // A chain of one passes through unhedged, but is counted in health like any chain.
    stt: new HedgedStt(s, chainOpts()),
    llm: new HedgedLlm(l, chainOpts()),
    tts: new HedgedTts(t, chainOpts()),
  };
}
