// The conformance suite (vitest) and its checks, for adapter tests.
export { describeLlmConformance, describeSttConformance, describeTtsConformance, type KnownFailure, type InvalidOptions, type UpstreamProbe, type LlmConformanceOptions, type SttConformanceOptions, type TtsConformanceOptions } from './conformance.ts';
export { measureStream, analyseUlaw, ulawProblems, testUtterance, type StreamTiming, type UlawReport } from './checks.ts';
