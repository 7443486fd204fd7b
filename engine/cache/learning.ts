// Which LLM answers the cache keeps. An answer is stored once the same question (normalised,
// same partition) has been answered minCount times, so a one-off reply does not become a
// cached answer. Never kept: answers the LLM marked not cacheable, answers longer than
// maxChars, and questions or answers that look like personal data (pii.ts). (An answer that an
// entry already holds makes its question an alias of that entry at once: response-cache.ts.)
import { normaliseText } from '../../adapters/kit/normalise.ts';
import { normaliseKey, partitionId, type CacheKey } from './cache-key.ts';
import { LruMap } from './lru.ts';
import { personalDataKind } from './pii.ts';

export type LearnDecision = { action: 'store' } | { action: 'wait'; seen: number } | { action: 'reject'; why: string };

export interface LearningOptions {
  minCount: number;
  maxChars: number;
  /** Questions whose sightings are counted at most (least recently seen are forgotten). */
  maxTracked: number;
}

export class LearningPolicy {
  private readonly seen = new LruMap<string, number>();

  constructor(private readonly opts: LearningOptions) {}

  /** Why this answer may never be kept (or null): not cacheable, empty, too long, personal data. */
  refusal(query: string, answer: string, cacheable: boolean): string | null {
    if (!cacheable) return 'not cacheable';
    if (!answer?.trim()) return 'empty answer';
    if (answer.length > this.opts.maxChars) return 'too long';
    const pii = personalDataKind(answer) ?? personalDataKind(query);
    return pii ? `personal data (${pii})` : null;
  }

  /** Counts this answer's question; 'store' resets its count. */
  consider(key: CacheKey, query: string, answer: string, cacheable: boolean): LearnDecision {
    const why = this.refusal(query, answer, cacheable);
    if (why) return { action: 'reject', why };
    const norm = normaliseText(query);
    if (!norm) return { action: 'reject', why: 'empty question' };
    const countKey = `${partitionId(normaliseKey(key))}\u0000${norm}`;
    const count = (this.seen.get(countKey) ?? 0) + 1;
    this.seen.set(countKey, count);
    while (this.seen.size > this.opts.maxTracked) this.seen.delete(this.seen.oldest()![0]);
    if (count < this.opts.minCount) return { action: 'wait', seen: count };
    this.seen.delete(countKey);
    return { action: 'store' };
  }

  /** Questions currently counted. */
  get tracked(): number {
    return this.seen.size;
  }
}
