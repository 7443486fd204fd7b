// The context key a cache entry is stored and found under. The key is a hard partition: an
// answer given in one workflow, state, language or voice is never served in another.
import { partitionLanguage } from '../../adapters/kit/normalise.ts';

/** The state FAQ entries live in. Key lookups with `state: FAQ_STATE` (or '') to reach them. */
export const FAQ_STATE = 'faq';

export interface CacheKey {
  workflow: string;
  /** Workflow state/node; '' means FAQ_STATE. */
  state: string;
  /** BCP-47 locale; partitioned by partitionLanguage() ("en-US" → "en", "zh-HK" → "yue"). */
  language: string;
  /** TTS voice; '' for relay mode (Twilio speaks) or when no voice is configured. */
  voice: string;
}

/** The key as partitioned: language reduced to its partition, empty state to FAQ_STATE. */
export function normaliseKey(key: CacheKey): CacheKey {
  return {
    workflow: String(key.workflow ?? ''),
    state: key.state ? String(key.state) : FAQ_STATE,
    language: partitionLanguage(key.language),
    voice: String(key.voice ?? ''),
  };
}

/** The partition's id for a normalised key. */
export function partitionId(k: CacheKey): string {
  return JSON.stringify([k.workflow, k.state, k.language, k.voice]);
}

/** The entry id FAQ pre-warm gives a workflow's FAQ entry in one voice's partition. */
export function faqEntryId(workflowId: string, faqId: string, voice: string): string {
  return voice ? `faq:${workflowId}:${faqId}@${voice}` : `faq:${workflowId}:${faqId}`;
}
