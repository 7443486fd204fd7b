// The cache's entries, partitioned by context key (cache-key.ts). Each partition has an exact
// tier (normalised question → entry) and an HNSW index of its questions' vectors, whose freed
// slots are reused (hnsw-index.ts). Across partitions, one LRU order bounded by a capacity, and
// an absolute TTL set when an entry's answer is stored (using an entry does not extend it).
// Synchronous and unlocked: the owner serialises every mutation (response-cache.ts's mutex).
import { randomUUID } from 'node:crypto';
import type { CacheKey } from './cache-key.ts';
import { analyse, coverageOf, type TextFeatures } from './guard.ts';
import { SlotIndex, type HnswParams } from './hnsw-index.ts';
import { LruMap } from './lru.ts';
import { normaliseText } from '../../adapters/kit/normalise.ts';

export const MAX_PHRASES_PER_ENTRY = 32;

/** Two answers are the same answer when they read the same after normalisation (case, punctuation, fillers). */
export function answerKey(pkey: string, answer: string): string {
  return `${pkey}\u0000${normaliseText(answer)}`;
}

export type EntrySource = 'faq' | 'learned';

export interface Phrase {
  label: number;
  text: string;
  norm: string;
  features: TextFeatures;
}

export interface Entry {
  id: string;
  pkey: string;
  /** Normalised (normaliseKey). */
  key: CacheKey;
  answer: string;
  source: EntrySource;
  createdAt: number;
  expiresAt: number;
  phrases: Phrase[];
  /** μ-law 8 kHz per voice. */
  audio: Map<string, Uint8Array>;
  /** Every content unit of its phrases (guard.ts coverageOf); dropped when phrases change. */
  coverage?: Set<string>;
}

/** What an entry's phrases mention between them, computed once per change of its phrases. */
export function entryCoverage(e: Entry): Set<string> {
  e.coverage ??= coverageOf(e.phrases.map((p) => p.features));
  return e.coverage;
}

interface Partition {
  pkey: string;
  key: CacheKey;
  index: SlotIndex;
  byLabel: Map<number, { entry: Entry; phrase: Phrase }>;
  exact: Map<string, string>;
}

/** A question and its answer, already normalised and embedded by the caller. */
export interface IndexItem {
  key: CacheKey;
  pkey: string;
  /** The question as asked (kept for re-embedding) and normalised. */
  query: string;
  norm: string;
  answer: string;
  source: EntrySource;
  /** Extends this entry instead of the one already holding the question. */
  entryId?: string;
}

export interface Candidate {
  entry: Entry;
  phrase: Phrase;
  similarity: number;
}

/** An entry's own fields, as a snapshot stores them. */
export type EntryFields = Pick<Entry, 'id' | 'key' | 'answer' | 'source' | 'createdAt' | 'expiresAt'>;

/** An entry read back from a snapshot: phrases with their HNSW labels, audio per voice. */
export interface RestoredEntry extends EntryFields {
  pkey: string;
  phrases: Array<{ label: number; text: string; norm: string }>;
  audio: Map<string, Uint8Array>;
}

export interface PartitionedIndexOptions {
  dimensions: number;
  hnsw: HnswParams;
  capacity: number;
  ttlMs: number;
  /** Wall clock in ms. */
  now: () => number;
}

export class PartitionedIndex {
  private readonly entries = new LruMap<string, Entry>();
  private readonly partitions = new Map<string, Partition>();
  /** Entries by partition and normalised answer (answerKey), so a new phrasing of a known answer finds its entry. */
  private readonly answers = new Map<string, Set<string>>();
  private changes = 0;

  constructor(private readonly opts: PartitionedIndexOptions) {}

  get hnsw(): HnswParams {
    return this.opts.hnsw;
  }

  /** Bumped by every change, so the snapshot writer knows whether there is anything new. */
  get revision(): number {
    return this.changes;
  }

  get size(): number {
    return this.entries.size;
  }

  get partitionCount(): number {
    return this.partitions.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  hasPartition(pkey: string): boolean {
    return this.partitions.has(pkey);
  }

  /** Reads without changing the LRU order. */
  peek(id: string): Entry | undefined {
    return this.entries.peek(id);
  }

  /** Marks an entry as recently used (a served hit). */
  touch(id: string): void {
    this.entries.get(id);
  }

  /** Expired entries are never served, even before a sweep removes them. */
  isLive(e: Entry): boolean {
    return e.expiresAt > this.opts.now();
  }

  /** The entry holding this normalised question in the partition, live or not. */
  exact(pkey: string, norm: string): Entry | undefined {
    const id = this.partitions.get(pkey)?.exact.get(norm);
    return id ? this.entries.peek(id) : undefined;
  }

  /** The entries in this partition whose answer reads the same (normaliseText) as this one. */
  withAnswer(pkey: string, answer: string): Entry[] {
    const ids = this.answers.get(answerKey(pkey, answer));
    return ids ? [...ids].map((id) => this.entries.peek(id)).filter((e): e is Entry => e !== undefined) : [];
  }

  /** Up to k nearest phrases at or above minSimilarity, most similar first. */
  nearest(pkey: string, vec: Float32Array, k: number, minSimilarity: number): Candidate[] {
    const part = this.partitions.get(pkey);
    if (!part) return [];
    const out: Candidate[] = [];
    for (const n of part.index.search(vec, k)) {
      if (n.similarity < minSimilarity) break; // sorted, most similar first
      const ref = part.byLabel.get(n.label);
      if (ref) out.push({ entry: ref.entry, phrase: ref.phrase, similarity: n.similarity });
    }
    return out;
  }

  /**
   * Stores (or extends) an entry and returns its id. Without entryId, a question already in
   * the partition extends that entry. A changed answer restarts the TTL and drops old audio.
   */
  insert(it: IndexItem, vec: Float32Array | undefined): string {
    const now = this.opts.now();
    const { pkey, norm } = it;
    this.changes++;
    let e = it.entryId ? this.entries.peek(it.entryId) : undefined;
    if (e && e.pkey !== pkey) throw new Error(`cache put: entry ${it.entryId} belongs to another partition`);
    if (!e) {
      const sameQuestion = this.partitions.get(pkey)?.exact.get(norm);
      if (sameQuestion && !it.entryId) e = this.entries.peek(sameQuestion);
    }
    if (!e) {
      e = { id: it.entryId ?? `c_${randomUUID()}`, pkey, key: it.key, answer: it.answer, source: it.source, createdAt: now, expiresAt: now + this.opts.ttlMs, phrases: [], audio: new Map() };
      this.indexAnswer(e);
    } else if (e.answer !== it.answer) {
      // New content: new TTL, and the old audio no longer matches the text.
      this.unindexAnswer(e);
      e.answer = it.answer;
      this.indexAnswer(e);
      e.audio.clear();
      e.createdAt = now;
      e.expiresAt = now + this.opts.ttlMs;
    }
    if (it.source === 'faq') e.source = 'faq';
    this.entries.set(e.id, e);
    if (!vec || e.phrases.some((ph) => ph.norm === norm) || e.phrases.length >= MAX_PHRASES_PER_ENTRY) return e.id;
    const previous = this.partitions.get(pkey)?.exact.get(norm);
    if (previous && previous !== e.id) {
      // The same question now has another answer: the newer one wins, the old phrase goes.
      const old = this.entries.peek(previous);
      const ph = old?.phrases.find((x) => x.norm === norm);
      if (old && ph) this.removePhrase(old, ph, this.partitions.get(pkey)!);
    }
    // Looked up after the removal, which drops the partition if that was its last phrase.
    const part = this.partitionFor(it.key, pkey);
    this.addPhrase(part, e, part.index.add(vec), it.query, norm);
    return e.id;
  }

  /** Stores audio for a voice; false when the entry is gone. */
  attachAudio(id: string, voice: string, ulaw: Uint8Array): boolean {
    const e = this.entries.peek(id);
    if (!e) return false;
    e.audio.set(voice, ulaw);
    this.changes++;
    return true;
  }

  /** Removes an entry and frees its HNSW slots for reuse. */
  remove(e: Entry): void {
    const part = this.partitions.get(e.pkey);
    if (part) {
      for (const ph of e.phrases) this.unlinkPhrase(e, ph, part);
      this.dropIfEmpty(part);
    }
    e.phrases = [];
    this.entries.delete(e.id);
    this.unindexAnswer(e);
    this.changes++;
  }

  /** Removes the entry if it is still stored and has expired (a lookup found it expired). */
  removeIfExpired(e: Entry): boolean {
    if (this.entries.peek(e.id) !== e || this.isLive(e)) return false;
    this.remove(e);
    return true;
  }

  /** Removes every expired entry; returns how many. */
  removeExpired(): number {
    const now = this.opts.now();
    return this.removeWhere((e) => e.expiresAt <= now);
  }

  removeWhere(match: (e: Entry) => boolean): number {
    let n = 0;
    for (const e of [...this.entries.values()]) {
      if (match(e)) {
        this.remove(e);
        n++;
      }
    }
    return n;
  }

  /** Evicts least recently used entries down to the capacity; returns how many. */
  evictOverCapacity(): number {
    let n = 0;
    while (this.entries.size > this.opts.capacity) {
      this.remove(this.entries.oldest()![1]);
      n++;
    }
    return n;
  }

  /** Oldest first (the order a snapshot keeps). */
  entriesByAge(): IterableIterator<Entry> {
    return this.entries.values();
  }

  *partitionIndexes(): Iterable<{ key: CacheKey; index: SlotIndex }> {
    for (const p of this.partitions.values()) yield { key: p.key, index: p.index };
  }

  /**
   * Replaces the contents with a snapshot's: partitions with their restored HNSW indexes, and
   * entries oldest first whose phrase labels point into them. Throws if they do not fit together.
   */
  restore(partitions: Array<{ key: CacheKey; pkey: string; index: SlotIndex }>, entries: RestoredEntry[]): void {
    this.clear();
    const byKey = new Map<string, Partition>();
    for (const p of partitions) byKey.set(p.pkey, { pkey: p.pkey, key: p.key, index: p.index, byLabel: new Map(), exact: new Map() });
    for (const r of entries) {
      const part = byKey.get(r.pkey);
      if (!part) throw new Error(`entry ${r.id} refers to a missing partition`);
      const e: Entry = { id: r.id, pkey: r.pkey, key: r.key, answer: r.answer, source: r.source, createdAt: r.createdAt, expiresAt: r.expiresAt, phrases: [], audio: r.audio };
      for (const ph of r.phrases) this.addPhrase(part, e, ph.label, ph.text, ph.norm);
      this.entries.set(e.id, e);
      this.indexAnswer(e);
    }
    for (const [pkey, part] of byKey) this.partitions.set(pkey, part);
    this.changes++;
  }

  clear(): void {
    this.entries.clear();
    this.partitions.clear();
    this.answers.clear();
    this.changes++;
  }

  contentStats(): { entries: number; phrases: number; partitions: number; audioClips: number } {
    let phrases = 0;
    let audioClips = 0;
    for (const e of this.entries.values()) {
      phrases += e.phrases.length;
      audioClips += e.audio.size;
    }
    return { entries: this.entries.size, phrases, partitions: this.partitions.size, audioClips };
  }

  /** HNSW slot usage, to check that freed slots are reused. */
  slotStats(): { partitions: number; slots: number; live: number; deleted: number; labelsIssued: number } {
    let slots = 0;
    let live = 0;
    let deleted = 0;
    let labelsIssued = 0;
    for (const p of this.partitions.values()) {
      slots += p.index.slots;
      live += p.index.size;
      deleted += p.index.deletedSlots;
      labelsIssued += p.index.labelsIssued;
    }
    return { partitions: this.partitions.size, slots, live, deleted, labelsIssued };
  }

  private partitionFor(k: CacheKey, pkey: string): Partition {
    let part = this.partitions.get(pkey);
    if (!part) {
      part = { pkey, key: k, index: new SlotIndex(this.opts.dimensions, { ...this.opts.hnsw }), byLabel: new Map(), exact: new Map() };
      this.partitions.set(pkey, part);
    }
    return part;
  }

  private addPhrase(part: Partition, e: Entry, label: number, text: string, norm: string): void {
    const phrase: Phrase = { label, text, norm, features: analyse(norm) };
    e.phrases.push(phrase);
    e.coverage = undefined;
    part.byLabel.set(label, { entry: e, phrase });
    part.exact.set(norm, e.id);
  }

  private unlinkPhrase(e: Entry, ph: Phrase, part: Partition): void {
    part.index.remove(ph.label);
    part.byLabel.delete(ph.label);
    if (part.exact.get(ph.norm) === e.id) part.exact.delete(ph.norm);
  }

  private removePhrase(e: Entry, ph: Phrase, part: Partition): void {
    this.unlinkPhrase(e, ph, part);
    e.phrases = e.phrases.filter((x) => x !== ph);
    e.coverage = undefined;
    if (e.phrases.length === 0) {
      this.entries.delete(e.id);
      this.unindexAnswer(e);
    }
    this.dropIfEmpty(part);
  }

  private indexAnswer(e: Entry): void {
    const k = answerKey(e.pkey, e.answer);
    let ids = this.answers.get(k);
    if (!ids) this.answers.set(k, (ids = new Set()));
    ids.add(e.id);
  }

  private unindexAnswer(e: Entry): void {
    const k = answerKey(e.pkey, e.answer);
    const ids = this.answers.get(k);
    if (!ids) return;
    ids.delete(e.id);
    if (ids.size === 0) this.answers.delete(k);
  }

  /** An empty partition's index is dropped, so churn across partitions cannot grow memory. */
  private dropIfEmpty(part: Partition): void {
    if (part.index.size === 0) this.partitions.delete(part.pkey);
  }
}
