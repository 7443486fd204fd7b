// Which LLM answers the cache keeps. An answer is stored once the same question (normalised,
// same partition) has been answered minCount times, so a one-off reply does not become a
// cached answer. Never kept: answers the LLM marked not cacheable, answers longer than
// maxChars, and questions or answers that look like personal data (pii.ts).
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

  /** Counts this answer's question; 'store' resets its count. */
  consider(key: CacheKey, query: string, answer: string, cacheable: boolean): LearnDecision {
    if (!cacheable) return { action: 'reject', why: 'not cacheable' };
    if (!answer?.trim()) return { action: 'reject', why: 'empty answer' };
    if (answer.length > this.opts.maxChars) return { action: 'reject', why: 'too long' };
    const pii = personalDataKind(answer) ?? personalDataKind(query);
    if (pii) return { action: 'reject', why: `personal data (${pii})` };
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
