// The adapter kit's entry point for plug-in authors: the provider interfaces, the built-in
// adapters, the registry to plug new ones into the engine, the hedged chains, and the
// conformance suite (import the testkit from tests only: it depends on vitest).
export * from './types.ts';
export { OpenAiLlm, type OpenAiLlmOptions } from './openai/llm.ts';
export { OpenAiStt, type OpenAiSttOptions } from './openai/stt.ts';
export { OpenAiTts, type OpenAiTtsOptions } from './openai/tts.ts';
export { mapOpenAiError, retryAfterMs } from './openai/errors.ts';
export { AzureOpenAiLlm, type AzureOpenAiLlmOptions } from './azure-openai/llm.ts';
export { AzureStt, type AzureSttOptions } from './azure-speech/stt.ts';
export { AzureTts, type AzureTtsOptions } from './azure-speech/tts.ts';
export { mapCancellation, type AzureSpeechAuth } from './azure-speech/common.ts';
export { SimulatedStt } from './local/simulated-stt.ts';
export { WorkflowResponder } from './local/workflow-responder.ts';
export { EspeakTts } from './local/espeak-tts.ts';
export { StreamingResampler, resamplePcm16, pcm16ToUlaw8k, wavFromPcm16, parseWav } from './audio.ts';
export { encodeUlaw, decodeUlaw } from '../workers/ulaw.ts';
export { registerProvider, registeredProviders, buildProviders, ProviderConfigError, type FactoryContext, type ProviderFactory, type Providers, type Role } from '../engine/providers/registry.ts';
export { HedgedLlm, HedgedStt, HedgedTts, candidates, type ChainOptions } from '../engine/providers/chain.ts';
export { HedgeBudget, toProviderError, type Candidate, type HedgeSettings } from '../engine/providers/hedge.ts';
export { ProviderHealth, type HealthEvent, type ProviderStats } from '../engine/providers/health.ts';
export { CircuitBreaker, type BreakerState } from '../engine/providers/breaker.ts';
export { measureStream, analyseUlaw, ulawProblems, testUtterance } from './testkit/checks.ts';
