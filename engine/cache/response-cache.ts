// The semantic response cache the call sessions use (engine/call/answer-cache.ts is their view
// of it). A caller's question is answered when an entry in the same context partition
// (cache-key.ts) holds it: first by exact normalised text, then by HNSW nearest neighbour above
// the threshold, and only if the near-miss guard (guard.ts) agrees. Entries hold the answer text
// and per-voice μ-law audio, so a hit plays at once. The parts: partitioned-index.ts (exact tier,
// HNSW, LRU, TTL), learning.ts (which LLM answers are kept), snapshot.ts and persist.ts (the
// snapshot file). This class embeds, counts, and serialises index mutations and snapshot writes
// with one mutex.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmbeddingProvider } from '../../adapters/kit/types.ts';
import type { Config } from '../config.ts';
import { log as rootLog, type Logger } from '../log.ts';
import { createEmbedder, type Embedder } from './backend.ts';
import { analyse, guard, type GuardReason, type GuardVerdict, type TextFeatures } from './guard.ts';
import type { HnswParams } from './hnsw-index.ts';
import { LatencyWindow } from './latency.ts';
import { Mutex } from './mutex.ts';
import { isCjk, normaliseText } from '../../adapters/kit/normalise.ts';
import { encodeSnapshot, readSnapshot, setAside, writeFileAtomic } from './persist.ts';
import { normaliseKey, partitionId, type CacheKey } from './cache-key.ts';
import { LearningPolicy } from './learning.ts';
import { entryCoverage, PartitionedIndex, type Entry, type EntrySource, type IndexItem } from './partitioned-index.ts';
import { checkHeader, encodeIndex, restoreIndex, restoreTimesAndAudio, sameVectors, storedQuestions, type SnapshotHeader } from './snapshot.ts';
import { Transitions } from './transitions.ts';

export { FAQ_STATE, faqEntryId, normaliseKey, type CacheKey } from './cache-key.ts';
export type { EntrySource } from './partitioned-index.ts';

/** An answer this short ("Sure.", "Of course.") says too little to make two questions one. */
const MIN_ALIAS_ANSWER_WORDS = 4;

/**
 * An alias needs the guard's hard checks (negation, numbers, dates, swapped things, another
 * intent). New words are what an alias is for: the LLM, by giving the same answer, has said the
 * question is the entry's, so "topic" and "content-swap" do not count against it.
 */
function aliasAllowed(v: GuardVerdict): boolean {
  return v.ok || v.reason === 'topic' || v.reason === 'content-swap';
}

/** Words of a normalised text, a CJK character counting as half a word. */
function wordCount(norm: string): number {
  let n = 0;
  for (const w of norm.split(' ')) if (w) n += [...w].some(isCjk) ? [...w].length / 2 : 1;
  return n;
}

/** Nearest neighbours examined per semantic lookup (the guard may reject the closest). */
const CANDIDATES = 8;
/** 60 s of 8 kHz μ-law: anything longer is not a cached answer. */
const MAX_AUDIO_BYTES = 8000 * 60;
const SNAPSHOT_FILE = 'cache.snapshot';

export interface CacheHit {
  entryId: string;
  tier: 'exact' | 'semantic';
  similarity: number;
  text: string;
  /** μ-law 8 kHz for key.voice, if stored. */
  audio?: Uint8Array;
  lookupMs: number;
}

export interface CacheStats {
  backend: string;
  threshold: number;
  enabled: boolean;
  entries: number;
  phrases: number;
  partitions: number;
  audioClips: number;
  lookups: number;
  exactHits: number;
  semanticHits: number;
  misses: number;
  guardRejections: number;
  guardReasons: Partial<Record<GuardReason | 'unanchored', number>>;
  learned: number;
  /** Questions that became another phrasing of an entry because the LLM gave that entry's answer. */
  aliases: number;
  learnRejected: number;
  evictions: number;
  expirations: number;
  errors: number;
  lookupMs: { p50: number; p95: number; p99: number; samples: number };
  /** Entries with counted successors (transitions.ts), for predicting the next answer. */
  transitionsFrom: number;
  persistedAt: number | null;
}

/** An entry that tends to answer the turn after another (likelyNext). */
export interface NextAnswer {
  entryId: string;
  text: string;
  /** The entry already holds audio for the key's voice. */
  hasAudio: boolean;
  probability: number;
  count: number;
}

export interface ResponseCacheOptions {
  embedder?: EmbeddingProvider;
  log?: Logger;
  /** Wall clock in ms for TTLs (tests inject one). */
  now?: () => number;
  /** false: no snapshot load/save and no timers (eval, benches). */
  persist?: boolean;
  /** Overrides the HNSW parameters from the configuration (benches). */
  hnsw?: Partial<HnswParams>;
}

/** One question and its answer to store (putMany). */
export interface CachePut {
  key: CacheKey;
  query: string;
  answer: string;
  source: EntrySource;
  /** Extends this entry (FAQ entries have fixed ids) instead of the one holding the question. */
  entryId?: string;
}

/** A candidate above the threshold that the guard refused, and why (explain()). */
export interface GuardRejection {
  entryId: string;
  /** The stored phrasing that was nearest. */
  phrase: string;
  similarity: number;
  reason: GuardReason | 'unanchored';
}

/** What removeWhere() shows of an entry. */
export type CacheEntryInfo = Readonly<Pick<Entry, 'id' | 'key' | 'source'>>;

export class ResponseCache {
  private readonly index: PartitionedIndex;
  private readonly learning: LearningPolicy;
  private readonly transitions: Transitions;
  /** The transitions revision the snapshot file holds. */
  private savedTransitions = 0;
  private readonly mutex = new Mutex();
  private readonly latency = new LatencyWindow();
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly threshold: number;
  private readonly snapshotPath: string;
  private timers: NodeJS.Timeout[] = [];
  /** The index revision the snapshot file holds; another revision means there is something to write. */
  private savedRevision: number;
  private closed = false;
  private persistedAt: number | null = null;
  private counters = { lookups: 0, exactHits: 0, semanticHits: 0, misses: 0, guardRejections: 0, learned: 0, aliases: 0, learnRejected: 0, evictions: 0, expirations: 0, errors: 0 };
  private guardReasons: Partial<Record<GuardReason | 'unanchored', number>> = {};

  private constructor(
    private readonly cfg: Config,
    private readonly embedder: Embedder,
    private readonly opts: ResponseCacheOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.log = (opts.log ?? rootLog).child({ component: 'cache' });
    this.threshold = embedder.threshold;
    this.snapshotPath = join(cfg.CACHE_DIR, SNAPSHOT_FILE);
    this.index = new PartitionedIndex({
      dimensions: embedder.provider.dimensions,
      hnsw: { m: cfg.CACHE_HNSW_M, efConstruction: cfg.CACHE_HNSW_EF_CONSTRUCTION, ef: cfg.CACHE_HNSW_EF, ...opts.hnsw },
      capacity: cfg.CACHE_CAPACITY,
      ttlMs: cfg.CACHE_TTL_S * 1000,
      now: this.now,
    });
    this.savedRevision = this.index.revision;
    this.learning = new LearningPolicy({ minCount: cfg.CACHE_LEARN_MIN_COUNT, maxChars: cfg.CACHE_LEARN_MAX_CHARS, maxTracked: cfg.CACHE_CAPACITY });
    this.transitions = new Transitions(cfg.CACHE_CAPACITY);
  }

  /** Picks the embedding backend (CACHE_EMBEDDING_BACKEND), loads the snapshot, starts timers. */
  static async create(cfg: Config, opts: ResponseCacheOptions = {}): Promise<ResponseCache> {
    const log = (opts.log ?? rootLog).child({ component: 'cache' });
    const embedder = await createEmbedder(cfg, log, opts.embedder);
    const cache = new ResponseCache(cfg, embedder, opts);
    log.info(
      { backend: embedder.provider.name, dimensions: embedder.provider.dimensions, threshold: embedder.threshold, capacity: cfg.CACHE_CAPACITY, ttlS: cfg.CACHE_TTL_S },
      `semantic cache using the ${embedder.kind} embedding backend (${embedder.provider.name})`,
    );
    if (opts.persist !== false) {
      await cache.load();
      cache.startTimers();
    }
    return cache;
  }

  get backend(): string {
    return this.embedder.provider.name;
  }

  // ------------------------------------------------------------------ lookup

  async lookup(key: CacheKey, query: string): Promise<CacheHit | null> {
    return this.find(key, query);
  }

  /**
   * A lookup that also says why the candidates it passed over were refused (cache:eval, and
   * anyone asking why a question missed). Counts as a lookup in the stats.
   */
  async explain(key: CacheKey, query: string): Promise<{ hit: CacheHit | null; rejected: GuardRejection[] }> {
    const rejected: GuardRejection[] = [];
    const hit = await this.find(key, query, rejected);
    return { hit, rejected };
  }

  private async find(key: CacheKey, query: string, trace?: GuardRejection[]): Promise<CacheHit | null> {
    const t0 = performance.now();
    this.counters.lookups++;
    const done = (hit: CacheHit | null): CacheHit | null => {
      const ms = performance.now() - t0;
      this.latency.record(ms);
      if (!hit) this.counters.misses++;
      else {
        hit.lookupMs = ms;
        if (hit.tier === 'exact') this.counters.exactHits++;
        else this.counters.semanticHits++;
      }
      return hit;
    };
    if (!this.cfg.PERFORMANCE_CACHE_ENABLED || this.closed) return done(null);
    const k = normaliseKey(key);
    const pkey = partitionId(k);
    const norm = normaliseText(query);
    if (!norm || !this.index.hasPartition(pkey)) return done(null);

    const exact = this.index.exact(pkey, norm);
    if (exact && this.live(exact)) {
      this.index.touch(exact.id);
      return done(this.hitOf(exact, k, 'exact', 1));
    }

    let vec: Float32Array;
    try {
      [vec] = await this.embedder.provider.embed([norm]);
    } catch (e) {
      this.counters.errors++;
      this.log.warn({ err: (e as Error).message }, 'cache lookup: embedding failed; treating as a miss');
      return done(null);
    }
    return done(this.searchVector(k, pkey, norm, vec, trace));
  }

  /**
   * The semantic tier on an already-embedded query (benches measure this without the
   * embedding). Returns the first candidate above the threshold that the guard accepts.
   */
  searchVector(k: CacheKey, pkey: string, norm: string, vec: Float32Array, trace?: GuardRejection[]): CacheHit | null {
    // Read only when a candidate is near: most misses have none, and the reading is the costly part.
    let qf: TextFeatures | undefined;
    let rejected = false;
    for (const c of this.index.nearest(pkey, vec, CANDIDATES, this.threshold)) {
      if (!this.live(c.entry)) continue;
      qf ??= analyse(norm);
      const verdict = guard(qf, c.phrase.features, entryCoverage(c.entry));
      // No shared content word: a sentence model needs extra similarity; for the lexical hashing
      // backend, similarity without a shared content word is only function-word noise.
      const unanchored = !verdict.anchored && (this.embedder.kind === 'hashing' || c.similarity < this.threshold + this.cfg.CACHE_UNANCHORED_MARGIN);
      const reason = !verdict.ok ? verdict.reason! : unanchored ? 'unanchored' : null;
      if (reason) {
        rejected = true;
        this.guardReasons[reason] = (this.guardReasons[reason] ?? 0) + 1;
        trace?.push({ entryId: c.entry.id, phrase: c.phrase.text, similarity: c.similarity, reason });
        continue;
      }
      this.index.touch(c.entry.id);
      return this.hitOf(c.entry, k, 'semantic', c.similarity);
    }
    if (rejected) this.counters.guardRejections++;
    return null;
  }

  /** Partition id for a key (benches call searchVector with it). */
  partitionOf(key: CacheKey): { key: CacheKey; pkey: string } {
    const k = normaliseKey(key);
    return { key: k, pkey: partitionId(k) };
  }

  private hitOf(e: Entry, k: CacheKey, tier: 'exact' | 'semantic', similarity: number): CacheHit {
    return { entryId: e.id, tier, similarity, text: e.answer, audio: e.audio.get(k.voice), lookupMs: 0 };
  }

  private live(e: Entry): boolean {
    if (this.index.isLive(e)) return true;
    // Never served; removed under the mutex (lookups must not mutate the index).
    void this.mutex.run(() => {
      if (this.index.removeIfExpired(e)) this.counters.expirations++;
    });
    return false;
  }

  // ------------------------------------------------------------------ writes

  /** Stores (or extends) an entry; returns its id. The answer is served for this key only. */
  async put(key: CacheKey, query: string, answer: string, opts: { source?: EntrySource; entryId?: string } = {}): Promise<string> {
    const [id] = await this.putMany([{ key, query, answer, source: opts.source ?? 'learned', entryId: opts.entryId }]);
    return id;
  }

  /** Stores many at once (one embedding batch); returns their entry ids in order. */
  async putMany(items: CachePut[]): Promise<string[]> {
    if (this.closed) throw new Error('cache is closed');
    const prepared = items.map((it): IndexItem => {
      if (typeof it.query !== 'string' || typeof it.answer !== 'string' || !it.answer.trim()) throw new Error('cache put: query and answer must be non-empty strings');
      const k = normaliseKey(it.key);
      const norm = normaliseText(it.query);
      if (!norm) throw new Error(`cache put: question "${it.query.slice(0, 40)}" has no words left after normalisation`);
      return { key: k, pkey: partitionId(k), query: it.query, norm, answer: it.answer, source: it.source, entryId: it.entryId };
    });
    // Embed outside the mutex: it is the slow part and touches no shared state.
    const vectors = prepared.length ? await this.embedder.provider.embed(prepared.map((p) => p.norm)) : [];
    return this.mutex.run(() => {
      const ids = prepared.map((p, i) => this.index.insert(p, vectors[i]));
      this.counters.evictions += this.index.evictOverCapacity();
      return ids;
    });
  }

  /**
   * Offers an LLM answer for a question the cache missed. When an entry in the key's partition
   * already holds the same answer (normalised), the question becomes one more phrasing of that
   * entry (an alias), if the guard finds nothing that sets them apart; otherwise the learning
   * policy (learning.ts) decides whether to store it. Returns the entry's id when stored.
   */
  async learn(key: CacheKey, query: string, answer: string, cacheable: boolean): Promise<string | null> {
    if (!this.cfg.PERFORMANCE_CACHE_ENABLED || !this.cfg.CACHE_LEARN_ENABLED || this.closed) return null;
    const alias = await this.learnAlias(key, query, answer, cacheable);
    if (alias) return alias;
    const decision = this.learning.consider(key, query, answer, cacheable);
    if (decision.action === 'reject') {
      this.counters.learnRejected++;
      this.log.debug({ why: decision.why }, 'cache: answer not learned');
      return null;
    }
    if (decision.action === 'wait') return null;
    const id = await this.put(key, query, answer, { source: 'learned' });
    this.counters.learned++;
    return id;
  }

  private async learnAlias(key: CacheKey, query: string, answer: string, cacheable: boolean): Promise<string | null> {
    if (this.learning.refusal(query, answer, cacheable)) return null;
    const norm = normaliseText(query);
    const { key: k, pkey } = this.partitionOf(key);
    if (!norm || wordCount(normaliseText(answer)) < MIN_ALIAS_ANSWER_WORDS) return null;
    const qf = analyse(norm);
    const target = this.index.withAnswer(pkey, answer).find((e) => this.index.isLive(e) && e.phrases.some((ph) => aliasAllowed(guard(qf, ph.features, entryCoverage(e)))));
    if (!target) return null;
    if (target.phrases.some((ph) => ph.norm === norm)) return target.id;
    const id = await this.put(k, query, target.answer, { source: target.source, entryId: target.id });
    this.counters.aliases++;
    this.log.debug({ entryId: id }, 'cache: question learned as another phrasing of an entry');
    return id;
  }

  /** Attaches synthesized audio (8 kHz μ-law) for a voice to an entry. */
  attachAudio(entryId: string, voice: string, ulaw: Uint8Array): void {
    if (!this.index.has(entryId)) return;
    if (!(ulaw instanceof Uint8Array) || ulaw.length === 0 || ulaw.length > MAX_AUDIO_BYTES) {
      this.log.warn({ entryId, bytes: ulaw?.length }, 'cache: audio not attached (empty or longer than 60 s)');
      return;
    }
    this.index.attachAudio(entryId, voice, ulaw);
  }

  hasAudio(entryId: string, voice: string): boolean {
    return this.index.peek(entryId)?.audio.has(voice) ?? false;
  }

  // ------------------------------------------------------------------ what follows what (prediction)

  /** Entry `to` answered the caller's turn after the one entry `from` answered, in one call. */
  followed(from: string, to: string): void {
    if (!this.cfg.PERFORMANCE_CACHE_ENABLED || this.closed) return;
    if (this.index.has(from) && this.index.has(to)) this.transitions.observe(from, to);
  }

  /**
   * The live entries of the key's partition that followed `from` often enough (at least
   * min.count times, in at least min.probability of the turns after it), likeliest first.
   */
  likelyNext(from: string, key: CacheKey, min: { probability: number; count: number }): NextAnswer[] {
    const pkey = partitionId(normaliseKey(key));
    const out: NextAnswer[] = [];
    for (const n of this.transitions.likely(from, min.probability, min.count)) {
      const e = this.index.peek(n.entryId);
      if (!e || e.pkey !== pkey || !this.index.isLive(e)) continue;
      out.push({ entryId: e.id, text: e.answer, hasAudio: e.audio.has(key.voice), probability: n.probability, count: n.count });
    }
    return out;
  }

  /** Removes every entry the predicate matches (FAQ pre-warm drops entries a workflow no longer has). */
  async removeWhere(match: (e: CacheEntryInfo) => boolean): Promise<number> {
    return this.mutex.run(() => this.index.removeWhere(match));
  }

  /** Removes every expired entry (the sweep timer calls this; also usable on demand). */
  async sweepExpired(): Promise<number> {
    return this.mutex.run(() => {
      const n = this.index.removeExpired();
      this.counters.expirations += n;
      return n;
    });
  }

  // ------------------------------------------------------------------ stats and introspection

  stats(): CacheStats {
    const [p50, p95, p99] = this.latency.percentiles([50, 95, 99]);
    return {
      backend: this.embedder.provider.name,
      threshold: this.threshold,
      enabled: this.cfg.PERFORMANCE_CACHE_ENABLED,
      ...this.index.contentStats(),
      ...this.counters,
      guardReasons: { ...this.guardReasons },
      lookupMs: { p50, p95, p99, samples: this.latency.size },
      transitionsFrom: this.transitions.size,
      persistedAt: this.persistedAt,
    };
  }

  /** Index slot usage, to check that evicted slots are reused (tests, benches). */
  indexStats(): { partitions: number; slots: number; live: number; deleted: number; labelsIssued: number } {
    return this.index.slotStats();
  }

  /**
   * @internal Test-only fault injection: the embedding worker thread that takes the next batch
   * dies (CACHE_EMBED_THREADS > 0). False when embeddings run on the main thread.
   */
  injectEmbedWorkerFault(): boolean {
    const p = this.embedder.provider as Partial<{ injectWorkerFault(): void }>;
    if (typeof p.injectWorkerFault !== 'function') return false;
    p.injectWorkerFault();
    return true;
  }

  has(entryId: string): boolean {
    return this.index.has(entryId);
  }

  // ------------------------------------------------------------------ persistence (snapshot.ts: content; persist.ts: the file)

  /** Writes the snapshot if anything changed. Never throws; errors are logged. */
  async persist(): Promise<void> {
    if (this.opts.persist === false) return;
    await this.mutex.run(async () => {
      if (this.index.revision === this.savedRevision && this.transitions.revision === this.savedTransitions && this.persistedAt !== null) return;
      try {
        // Taken first: audio attached while this write is under way marks the cache dirty again.
        const revision = this.index.revision;
        const transitions = this.transitions.revision;
        const { header, sections } = await encodeIndex(this.index, { savedAt: this.now(), backend: this.embedder.provider.name, dimensions: this.embedder.provider.dimensions });
        header.transitions = this.transitions.rows((id) => this.index.has(id));
        await writeFileAtomic(this.snapshotPath, encodeSnapshot(header, sections));
        this.savedRevision = revision;
        this.savedTransitions = transitions;
        this.persistedAt = this.now();
        this.log.debug({ path: this.snapshotPath, entries: header.entries.length }, 'cache snapshot written');
      } catch (e) {
        this.counters.errors++;
        this.log.error({ path: this.snapshotPath, err: (e as Error).message }, 'cache snapshot write failed; will retry at the next interval');
      }
    });
  }

  private async load(): Promise<void> {
    const snap = await readSnapshot<SnapshotHeader>(this.snapshotPath, this.log, this.now);
    if (!snap) return;
    try {
      const h = snap.header;
      checkHeader(h);
      if (!sameVectors(h, this.embedder.provider.name, this.embedder.provider.dimensions)) {
        // Another backend's vectors mean nothing here: keep the texts, embed them again.
        this.log.info({ from: h.backend, to: this.embedder.provider.name }, 'cache: embedding backend changed; re-embedding stored questions');
        await this.putMany(storedQuestions(h, this.now()));
        await this.mutex.run(() => restoreTimesAndAudio(this.index, snap));
        this.transitions.load(h.transitions);
        return;
      }
      await this.mutex.run(async () => {
        await restoreIndex(this.index, snap);
        // Expired while the engine was down: removed, not counted as expirations.
        const expired = this.index.removeExpired();
        this.counters.evictions += this.index.evictOverCapacity();
        this.persistedAt = h.savedAt;
        this.savedRevision = expired > 0 ? -1 : this.index.revision;
        this.transitions.load(h.transitions);
        this.savedTransitions = this.transitions.revision;
      });
      this.log.info({ path: this.snapshotPath, entries: this.index.size, partitions: this.index.partitionCount }, 'cache snapshot loaded');
    } catch (e) {
      // Checksum passed but the content does not fit together: same treatment as corruption.
      this.index.clear();
      this.transitions.load([]);
      await setAside(this.snapshotPath, (e as Error).message, this.log, this.now);
    }
  }

  private startTimers(): void {
    const persistEvery = this.cfg.CACHE_PERSIST_INTERVAL_S * 1000;
    const sweepEvery = Math.min(60_000, this.cfg.CACHE_TTL_S * 1000);
    const t1 = setInterval(() => void this.persist(), persistEvery);
    const t2 = setInterval(() => void this.sweepExpired().catch(() => {}), sweepEvery);
    t1.unref();
    t2.unref();
    this.timers.push(t1, t2);
  }

  /** Persists, stops timers and the embedding pool. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.persist();
    this.closed = true;
    await this.mutex.run(() => {});
    await this.embedder.close().catch((e) => this.log.warn({ err: (e as Error).message }, 'cache: embedder close failed'));
  }
}
