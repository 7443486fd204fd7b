// The slice of the response cache a call session uses (engine/cache implements it), kept
// small so the sessions do not depend on how the cache is built.
import type { CacheHit, CacheKey, NextAnswer } from '../cache/index.ts';

export type { CacheHit, CacheKey, NextAnswer };

export interface AnswerCache {
  lookup(key: CacheKey, query: string): Promise<CacheHit | null>;
  learn(key: CacheKey, query: string, answer: string, cacheable: boolean): Promise<string | null>;
  attachAudio(entryId: string, voice: string, ulaw: Uint8Array): void;
  /** Entry `to` answered the caller's turn after the one `from` answered (prediction; optional). */
  followed?(from: string, to: string): void;
  /** Entries of the key's partition that usually answer the turn after `from` (prediction; optional). */
  likelyNext?(from: string, key: CacheKey, min: { probability: number; count: number }): NextAnswer[];
}
