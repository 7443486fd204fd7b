// Public API of the semantic response cache (see response-cache.ts for the behaviour).
//
// Keying, for the call session:
//   key = { workflow: wf.id, state: req.state ?? FAQ_STATE, language: ctx.language, voice }
// FAQ entries are stored by prewarmFaq() (engine/faq-prewarm.ts) in state FAQ_STATE ('faq'); a
// lookup reaches them only with state FAQ_STATE (or ''), because the context key is a hard
// partition. The workflow schema has no states today, so passing FAQ_STATE for ordinary turns
// is the expected use.
// language is any BCP-47 tag; partitionLanguage() maps it to its partition ("en-US" → "en",
// "zh-HK"/"yue" → "yue", other Chinese → "zh"). voice is the TTS voice the answer's audio is
// for ('' in relay mode, where Twilio speaks the text).
export { ResponseCache } from './response-cache.ts';
export type { CacheEntryInfo, CacheHit, CachePut, CacheStats, EntrySource, NextAnswer, ResponseCacheOptions } from './response-cache.ts';
export { FAQ_STATE, faqEntryId, normaliseKey } from './cache-key.ts';
export type { CacheKey } from './cache-key.ts';
export { partitionLanguage, normaliseText } from '../../adapters/kit/normalise.ts';
export { analyse, guard } from './guard.ts';
export type { GuardVerdict, GuardReason, TextFeatures } from './guard.ts';
export { containsPersonalData, personalDataKind } from './pii.ts';
export { evaluateFaq } from './evaluate.ts';
export type { EvalReport, EvalOutcome } from './evaluate.ts';
