// The slice of the response cache a call session uses (engine/cache implements it), kept
// small so the sessions do not depend on how the cache is built.
import type { CacheHit, CacheKey } from '../cache/index.ts';

export type { CacheHit, CacheKey };

export interface AnswerCache {
  lookup(key: CacheKey, query: string): Promise<CacheHit | null>;
  learn(key: CacheKey, query: string, answer: string, cacheable: boolean): Promise<string | null>;
  attachAudio(entryId: string, voice: string, ulaw: Uint8Array): void;
}
