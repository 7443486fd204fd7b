// The slice of the response cache a call session uses (engine/cache implements it), kept
// small so the session does not depend on how the cache is built.

export interface CacheKey {
  workflow: string;
  state: string;
  language: string;
  voice: string;
}

export interface CacheHit {
  entryId: string;
  tier: 'exact' | 'semantic';
  similarity: number;
  text: string;
  /** μ-law 8 kHz audio for the key's voice, when stored. */
  audio?: Uint8Array;
}

export interface AnswerCache {
  lookup(key: CacheKey, query: string): Promise<CacheHit | null>;
  learn(key: CacheKey, query: string, answer: string, cacheable: boolean): Promise<string | null>;
  attachAudio(entryId: string, voice: string, ulaw: Uint8Array): void;
}
