// The package entry, for plug-in authors: the adapter kit (provider interfaces, logger, μ-law,
// the registry's plug-in surface), the audio helpers, the shipped adapters and the testkit's
// checks. It exports nothing of the engine: hedged chains, breakers and health are the
// engine's business (engine/providers/). The conformance suite is at ./adapters/testkit
// (import it from tests only: it depends on vitest).
export * from './kit/types.ts';
export { silentLogger, type Logger, type LogFn } from './kit/log.ts';
export { encodeUlaw, decodeUlaw } from './kit/ulaw.ts';
export { registerProvider, registeredProviders, ProviderConfigError, type EnvName, type FactoryContext, type ProviderFactory, type ProviderSpec, type Providers, type Role, type Settings, type StrOptions } from './kit/registry.ts';
export { kindForStatus, retryAfterMs } from './kit/http-status.ts';
export { HttpPool, sharedHttpPool, type HttpPoolOptions, type HttpPoolStats } from './kit/http-pool.ts';
export type { FaqItem, LineKind, WorkflowScript } from './kit/workflow-script.ts';
export { StreamingResampler, resamplePcm16, pcm16ToUlaw8k, wavFromPcm16, parseWav } from './audio.ts';
export { OpenAiLlm, type OpenAiLlmOptions } from './openai/llm.ts';
export { OpenAiStt, type OpenAiSttOptions } from './openai/stt.ts';
export { OpenAiTts, type OpenAiTtsOptions } from './openai/tts.ts';
export { mapOpenAiError } from './openai/errors.ts';
export { AzureOpenAiLlm, type AzureOpenAiLlmOptions } from './azure-openai/llm.ts';
export { AzureStt, type AzureSttOptions } from './azure-speech/stt.ts';
export { AzureTts, type AzureTtsOptions } from './azure-speech/tts.ts';
export { mapCancellation, type AzureSpeechAuth } from './azure-speech/common.ts';
export { AnthropicLlm, toAnthropicMessages, type AnthropicLlmOptions } from './anthropic/llm.ts';
export { mapAnthropicError } from './anthropic/errors.ts';
export { DeepgramStt, type DeepgramSttOptions } from './deepgram/stt.ts';
export { ElevenLabsTts, mapElevenLabsError, type ElevenLabsTtsOptions } from './elevenlabs/tts.ts';
export { SimulatedStt, type SimulatedSttOptions } from './local/simulated-stt.ts';
export { WorkflowResponder, type WorkflowResponderOptions } from './local/workflow-responder.ts';
export { EspeakTts, type EspeakOptions } from './local/espeak-tts.ts';
export { measureStream, analyseUlaw, ulawProblems, testUtterance, type StreamTiming, type UlawReport } from './testkit/checks.ts';
