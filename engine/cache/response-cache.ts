// The semantic response cache. A caller's question is answered from the cache when an entry in
// the same context partition (workflow, state, language, voice) holds it: first by exact
// normalised text, then by HNSW nearest neighbour above the threshold, and only if the near-miss
// guard agrees. Entries hold the answer text and per-voice μ-law audio, so a hit plays at once.
// Bounded by an LRU capacity and an absolute TTL; deleted slots are reused; persisted to one
// checksummed snapshot file. Index mutations and snapshot writes are serialised by one mutex.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmbeddingProvider } from '../../adapters/kit/types.ts';
import type { Config } from '../config.ts';
import { log as rootLog, type Logger } from '../log.ts';
import type { Workflow } from '../workflow.ts';
import { createEmbedder, type Embedder } from './backend.ts';
import { analyse, guard, type GuardReason, type TextFeatures } from './guard.ts';
import { SlotIndex, type HnswParams } from './hnsw-index.ts';
import { LatencyWindow } from './latency.ts';
import { LruMap } from './lru.ts';
import { Mutex } from './mutex.ts';
import { normaliseText, partitionLanguage } from '../../adapters/kit/normalise.ts';
import { encodeSnapshot, readSnapshot, setAside, writeFileAtomic } from './persist.ts';
import { personalDataKind } from './pii.ts';

/** The state FAQ entries live in. Key lookups with `state: FAQ_STATE` (or '') to reach them. */
export const FAQ_STATE = 'faq';
/** Nearest neighbours examined per semantic lookup (the guard may reject the closest). */
const CANDIDATES = 8;
const MAX_PHRASES_PER_ENTRY = 32;
/** 60 s of 8 kHz μ-law: anything longer is not a cached answer. */
const MAX_AUDIO_BYTES = 8000 * 60;
const SNAPSHOT_FILE = 'cache.snapshot';

export interface CacheKey {
  workflow: string;
  /** Workflow state/node; '' means FAQ_STATE. */
  state: string;
  /** BCP-47 locale; partitioned by partitionLanguage() ("en-US" → "en", "zh-HK" → "yue"). */
  language: string;
  /** TTS voice; '' for relay mode (Twilio speaks) or when no voice is configured. */
  voice: string;
}

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
  learnRejected: number;
  evictions: number;
  expirations: number;
  errors: number;
  lookupMs: { p50: number; p95: number; p99: number; samples: number };
  persistedAt: number | null;
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

interface Phrase {
  label: number;
  text: string;
  norm: string;
  features: TextFeatures;
}

interface Entry {
  id: string;
  pkey: string;
  key: CacheKey;
  answer: string;
  source: 'faq' | 'learned';
  createdAt: number;
  expiresAt: number;
  phrases: Phrase[];
  audio: Map<string, Uint8Array>;
}

interface Partition {
  pkey: string;
  key: CacheKey;
  index: SlotIndex;
  byLabel: Map<number, { entry: Entry; phrase: Phrase }>;
  exact: Map<string, string>;
}

interface PutItem {
  key: CacheKey;
  query: string;
  answer: string;
  source: 'faq' | 'learned';
  entryId?: string;
}

interface SnapshotHeader {
  savedAt: number;
  backend: string;
  dimensions: number;
  partitions: Array<{ section: string; key: CacheKey; live: number; nextLabel: number }>;
  entries: Array<{
    id: string;
    key: CacheKey;
    answer: string;
    source: 'faq' | 'learned';
    createdAt: number;
    expiresAt: number;
    phrases: Array<{ label: number; text: string }>;
    audio: Array<{ voice: string; offset: number; length: number }>;
  }>;
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

function partitionId(k: CacheKey): string {
  return JSON.stringify([k.workflow, k.state, k.language, k.voice]);
}

/** The entry id prewarm() gives a workflow's FAQ entry in one voice's partition. */
export function faqEntryId(workflowId: string, faqId: string, voice: string): string {
  return voice ? `faq:${workflowId}:${faqId}@${voice}` : `faq:${workflowId}:${faqId}`;
}

export class ResponseCache {
  private readonly entries = new LruMap<string, Entry>();
  private readonly partitions = new Map<string, Partition>();
  private readonly learnCounts = new LruMap<string, number>();
  private readonly mutex = new Mutex();
  private readonly latency = new LatencyWindow();
  private readonly hnsw: HnswParams;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly threshold: number;
  private readonly snapshotPath: string;
  private timers: NodeJS.Timeout[] = [];
  private dirty = false;
  private closed = false;
  private persistedAt: number | null = null;
  private counters = { lookups: 0, exactHits: 0, semanticHits: 0, misses: 0, guardRejections: 0, learned: 0, learnRejected: 0, evictions: 0, expirations: 0, errors: 0 };
  private guardReasons: Partial<Record<GuardReason | 'unanchored', number>> = {};

  private constructor(
    private readonly cfg: Config,
    private readonly embedder: Embedder,
    private readonly opts: ResponseCacheOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.log = (opts.log ?? rootLog).child({ component: 'cache' });
    this.threshold = embedder.threshold;
    this.hnsw = { m: cfg.CACHE_HNSW_M, efConstruction: cfg.CACHE_HNSW_EF_CONSTRUCTION, ef: cfg.CACHE_HNSW_EF, ...opts.hnsw };
    this.snapshotPath = join(cfg.CACHE_DIR, SNAPSHOT_FILE);
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
    if (!norm || !this.partitions.has(pkey)) return done(null);

    const exactId = this.partitions.get(pkey)!.exact.get(norm);
    if (exactId) {
      const e = this.entries.peek(exactId);
      if (e && this.live(e)) {
        this.entries.get(e.id); // touch
        return done(this.hitOf(e, k, 'exact', 1));
      }
    }

    let vec: Float32Array;
    try {
      [vec] = await this.embedder.provider.embed([norm]);
    } catch (e) {
      this.counters.errors++;
      this.log.warn({ err: (e as Error).message }, 'cache lookup: embedding failed; treating as a miss');
      return done(null);
    }
    return done(this.searchVector(k, pkey, norm, vec));
  }

  /**
   * The semantic tier on an already-embedded query (benches measure this without the
   * embedding). Returns the first candidate above the threshold that the guard accepts.
   */
  searchVector(k: CacheKey, pkey: string, norm: string, vec: Float32Array): CacheHit | null {
    const part = this.partitions.get(pkey);
    if (!part) return null;
    const qf = analyse(norm);
    let rejected = false;
    for (const n of part.index.search(vec, CANDIDATES)) {
      if (n.similarity < this.threshold) break; // sorted, most similar first
      const ref = part.byLabel.get(n.label);
      if (!ref || !this.live(ref.entry)) continue;
      const verdict = guard(qf, ref.phrase.features);
      // No shared content word: a sentence model needs extra similarity; for the lexical hashing
      // backend, similarity without a shared content word is only function-word noise.
      const unanchored = !verdict.anchored && (this.embedder.kind === 'hashing' || n.similarity < this.threshold + this.cfg.CACHE_UNANCHORED_MARGIN);
      const reason = !verdict.ok ? verdict.reason! : unanchored ? 'unanchored' : null;
      if (reason) {
        rejected = true;
        this.guardReasons[reason] = (this.guardReasons[reason] ?? 0) + 1;
        continue;
      }
      this.entries.get(ref.entry.id); // touch
      return this.hitOf(ref.entry, k, 'semantic', n.similarity);
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
    if (e.expiresAt > this.now()) return true;
    // Never served; removed under the mutex (lookups must not mutate the index).
    void this.mutex.run(() => {
      if (this.entries.peek(e.id) === e && e.expiresAt <= this.now()) {
        this.removeEntry(e);
        this.counters.expirations++;
      }
    });
    return false;
  }

  // ------------------------------------------------------------------ writes

  /** Stores (or extends) an entry; returns its id. The answer is served for this key only. */
  async put(key: CacheKey, query: string, answer: string, opts: { source?: 'faq' | 'learned'; entryId?: string } = {}): Promise<string> {
    const [id] = await this.putMany([{ key, query, answer, source: opts.source ?? 'learned', entryId: opts.entryId }]);
    return id;
  }

  /**
   * Records an LLM answer. It becomes an entry once the same question (normalised, same
   * partition) has been answered CACHE_LEARN_MIN_COUNT times. Never stores cacheable=false
   * answers, answers longer than CACHE_LEARN_MAX_CHARS, or text that looks personal.
   */
  async learn(key: CacheKey, query: string, answer: string, cacheable: boolean): Promise<string | null> {
    if (!this.cfg.PERFORMANCE_CACHE_ENABLED || !this.cfg.CACHE_LEARN_ENABLED || this.closed) return null;
    const reject = (why: string) => {
      this.counters.learnRejected++;
      this.log.debug({ why }, 'cache: answer not learned');
      return null;
    };
    if (!cacheable) return reject('not cacheable');
    if (!answer?.trim()) return reject('empty answer');
    if (answer.length > this.cfg.CACHE_LEARN_MAX_CHARS) return reject('too long');
    const pii = personalDataKind(answer) ?? personalDataKind(query);
    if (pii) return reject(`personal data (${pii})`);
    const norm = normaliseText(query);
    if (!norm) return reject('empty question');
    const k = normaliseKey(key);
    const countKey = `${partitionId(k)}\u0000${norm}`;
    const count = (this.learnCounts.get(countKey) ?? 0) + 1;
    this.learnCounts.set(countKey, count);
    while (this.learnCounts.size > this.cfg.CACHE_CAPACITY) this.learnCounts.delete(this.learnCounts.oldest()![0]);
    if (count < this.cfg.CACHE_LEARN_MIN_COUNT) return null;
    this.learnCounts.delete(countKey);
    const id = await this.put(key, query, answer, { source: 'learned' });
    this.counters.learned++;
    return id;
  }

  /** Attaches synthesized audio (8 kHz μ-law) for a voice to an entry. */
  attachAudio(entryId: string, voice: string, ulaw: Uint8Array): void {
    const e = this.entries.peek(entryId);
    if (!e) return;
    if (!(ulaw instanceof Uint8Array) || ulaw.length === 0 || ulaw.length > MAX_AUDIO_BYTES) {
      this.log.warn({ entryId, bytes: ulaw?.length }, 'cache: audio not attached (empty or longer than 60 s)');
      return;
    }
    e.audio.set(voice, ulaw);
    this.dirty = true;
  }

  /**
   * Stores a workflow's FAQ entries (question and alternates) in state FAQ_STATE, once per
   * configured voice whose locale is in the entry's language partition (voice '' when none
   * is), drops FAQ entries the workflow no longer has, and pre-synthesises missing audio.
   */
  async prewarm(
    workflow: Workflow,
    voicesByLanguage: Record<string, string>,
    synth?: (text: string, voice: string, language: string) => Promise<Uint8Array>,
  ): Promise<{ entries: number; audio: number }> {
    const items: PutItem[] = [];
    const targets: Array<{ id: string; voice: string; locale: string; answer: string }> = [];
    for (const f of workflow.faq) {
      const lang = partitionLanguage(f.language);
      let voices = Object.entries(voicesByLanguage).filter(([loc]) => partitionLanguage(loc) === lang);
      if (voices.length === 0) voices = [[f.language, '']];
      for (const [locale, voice] of voices) {
        const id = faqEntryId(workflow.id, f.id, voice);
        const key: CacheKey = { workflow: workflow.id, state: FAQ_STATE, language: f.language, voice };
        const questions = [f.question, ...f.alternates].filter((q) => normaliseText(q)).slice(0, MAX_PHRASES_PER_ENTRY);
        if (questions.length === 0) {
          this.log.warn({ workflow: workflow.id, faq: f.id }, 'cache: FAQ entry has no usable question; skipped');
          continue;
        }
        for (const q of questions) items.push({ key, query: q, answer: f.answer, source: 'faq', entryId: id });
        targets.push({ id, voice, locale, answer: f.answer });
      }
    }
    const keep = new Set(targets.map((t) => t.id));
    await this.mutex.run(() => {
      for (const e of [...this.entries.values()]) {
        if (e.source === 'faq' && e.key.workflow === workflow.id && !keep.has(e.id)) this.removeEntry(e);
      }
    });
    await this.putMany(items);
    let audio = 0;
    for (const t of targets) {
      const e = this.entries.peek(t.id);
      if (!e) continue;
      if (e.audio.has(t.voice)) {
        audio++;
        continue;
      }
      if (!synth || !t.voice) continue;
      try {
        this.attachAudio(t.id, t.voice, await synth(t.answer, t.voice, t.locale));
        if (e.audio.has(t.voice)) audio++;
      } catch (err) {
        this.log.warn({ entryId: t.id, voice: t.voice, err: (err as Error).message }, 'cache: pre-synthesis failed; the entry will be spoken live');
      }
    }
    this.log.info({ workflow: workflow.id, entries: targets.length, audio }, 'cache: workflow FAQ pre-warmed');
    return { entries: targets.length, audio };
  }

  private async putMany(items: PutItem[]): Promise<string[]> {
    if (this.closed) throw new Error('cache is closed');
    const prepared = items.map((it) => {
      if (typeof it.query !== 'string' || typeof it.answer !== 'string' || !it.answer.trim()) throw new Error('cache put: query and answer must be non-empty strings');
      const k = normaliseKey(it.key);
      const norm = normaliseText(it.query);
      if (!norm) throw new Error(`cache put: question "${it.query.slice(0, 40)}" has no words left after normalisation`);
      return { ...it, k, pkey: partitionId(k), norm };
    });
    // Embed outside the mutex: it is the slow part and touches no shared state.
    const toEmbed = prepared.filter((p) => p.norm);
    const vectors = toEmbed.length ? await this.embedder.provider.embed(toEmbed.map((p) => p.norm)) : [];
    const vecOf = new Map(toEmbed.map((p, i) => [p, vectors[i]]));
    return this.mutex.run(() => {
      const ids: string[] = [];
      for (const p of prepared) ids.push(this.insert(p, p.k, p.pkey, p.norm, vecOf.get(p)));
      this.evictOverCapacity();
      this.dirty = true;
      return ids;
    });
  }

  /** Under the mutex. */
  private insert(it: PutItem, k: CacheKey, pkey: string, norm: string, vec: Float32Array | undefined): string {
    const now = this.now();
    let e = it.entryId ? this.entries.peek(it.entryId) : undefined;
    if (e && e.pkey !== pkey) throw new Error(`cache put: entry ${it.entryId} belongs to another partition`);
    if (!e && norm) {
      const sameQuestion = this.partitions.get(pkey)?.exact.get(norm);
      if (sameQuestion && !it.entryId) e = this.entries.peek(sameQuestion);
    }
    if (!e) {
      e = { id: it.entryId ?? `c_${randomUUID()}`, pkey, key: k, answer: it.answer, source: it.source, createdAt: now, expiresAt: now + this.cfg.CACHE_TTL_S * 1000, phrases: [], audio: new Map() };
    } else if (e.answer !== it.answer) {
      // New content: new TTL, and the old audio no longer matches the text.
      e.answer = it.answer;
      e.audio.clear();
      e.createdAt = now;
      e.expiresAt = now + this.cfg.CACHE_TTL_S * 1000;
    }
    if (it.source === 'faq') e.source = 'faq';
    this.entries.set(e.id, e);
    if (!norm || !vec || e.phrases.some((ph) => ph.norm === norm) || e.phrases.length >= MAX_PHRASES_PER_ENTRY) return e.id;
    const part = this.partitionFor(k, pkey);
    const previous = part.exact.get(norm);
    if (previous && previous !== e.id) {
      // The same question now has another answer: the newer one wins, the old phrase goes.
      const old = this.entries.peek(previous);
      const ph = old?.phrases.find((x) => x.norm === norm);
      if (old && ph) this.removePhrase(old, ph, part);
    }
    const label = part.index.add(vec);
    const phrase: Phrase = { label, text: it.query, norm, features: analyse(norm) };
    e.phrases.push(phrase);
    part.byLabel.set(label, { entry: e, phrase });
    part.exact.set(norm, e.id);
    return e.id;
  }

  private partitionFor(k: CacheKey, pkey: string): Partition {
    let part = this.partitions.get(pkey);
    if (!part) {
      part = { pkey, key: k, index: new SlotIndex(this.embedder.provider.dimensions, { ...this.hnsw }), byLabel: new Map(), exact: new Map() };
      this.partitions.set(pkey, part);
    }
    return part;
  }

  private removePhrase(e: Entry, ph: Phrase, part: Partition): void {
    part.index.remove(ph.label);
    part.byLabel.delete(ph.label);
    if (part.exact.get(ph.norm) === e.id) part.exact.delete(ph.norm);
    e.phrases = e.phrases.filter((x) => x !== ph);
    if (e.phrases.length === 0) this.entries.delete(e.id);
    this.dropIfEmpty(part);
  }

  /** Under the mutex. Frees the entry's HNSW slots for reuse. */
  private removeEntry(e: Entry): void {
    const part = this.partitions.get(e.pkey);
    if (part) {
      for (const ph of e.phrases) {
        part.index.remove(ph.label);
        part.byLabel.delete(ph.label);
        if (part.exact.get(ph.norm) === e.id) part.exact.delete(ph.norm);
      }
      this.dropIfEmpty(part);
    }
    e.phrases = [];
    this.entries.delete(e.id);
    this.dirty = true;
  }

  /** An empty partition's index is dropped, so churn across partitions cannot grow memory. */
  private dropIfEmpty(part: Partition): void {
    if (part.index.size === 0) this.partitions.delete(part.pkey);
  }

  private evictOverCapacity(): void {
    while (this.entries.size > this.cfg.CACHE_CAPACITY) {
      const [, e] = this.entries.oldest()!;
      this.removeEntry(e);
      this.counters.evictions++;
    }
  }

  /** Removes every expired entry (the sweep timer calls this; also usable on demand). */
  async sweepExpired(): Promise<number> {
    return this.mutex.run(() => {
      const now = this.now();
      let n = 0;
      for (const e of [...this.entries.values()]) {
        if (e.expiresAt <= now) {
          this.removeEntry(e);
          n++;
        }
      }
      this.counters.expirations += n;
      return n;
    });
  }

  // ------------------------------------------------------------------ stats and introspection

  stats(): CacheStats {
    const [p50, p95, p99] = this.latency.percentiles([50, 95, 99]);
    let phrases = 0;
    let audioClips = 0;
    for (const e of this.entries.values()) {
      phrases += e.phrases.length;
      audioClips += e.audio.size;
    }
    return {
      backend: this.embedder.provider.name,
      threshold: this.threshold,
      enabled: this.cfg.PERFORMANCE_CACHE_ENABLED,
      entries: this.entries.size,
      phrases,
      partitions: this.partitions.size,
      audioClips,
      ...this.counters,
      guardReasons: { ...this.guardReasons },
      lookupMs: { p50, p95, p99, samples: this.latency.size },
      persistedAt: this.persistedAt,
    };
  }

  /** Index slot usage, to check that evicted slots are reused (tests, benches). */
  indexStats(): { partitions: number; slots: number; live: number; deleted: number; labelsIssued: number } {
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

  has(entryId: string): boolean {
    return this.entries.has(entryId);
  }

  // ------------------------------------------------------------------ persistence

  /** Writes the snapshot if anything changed. Never throws; errors are logged. */
  async persist(): Promise<void> {
    if (this.opts.persist === false) return;
    await this.mutex.run(async () => {
      if (!this.dirty && this.persistedAt !== null) return;
      try {
        const sections = new Map<string, Uint8Array>();
        const header: SnapshotHeader = { savedAt: this.now(), backend: baseName(this.embedder.provider.name), dimensions: this.embedder.provider.dimensions, partitions: [], entries: [] };
        let i = 0;
        for (const p of this.partitions.values()) {
          const section = `p${i++}`;
          sections.set(section, await p.index.serialise());
          header.partitions.push({ section, key: p.key, live: p.index.size, nextLabel: p.index.labelsIssued });
        }
        const clips: Uint8Array[] = [];
        let offset = 0;
        for (const e of this.entries.values()) {
          const audio: SnapshotHeader['entries'][number]['audio'] = [];
          for (const [voice, bytes] of e.audio) {
            audio.push({ voice, offset, length: bytes.length });
            clips.push(bytes);
            offset += bytes.length;
          }
          header.entries.push({ id: e.id, key: e.key, answer: e.answer, source: e.source, createdAt: e.createdAt, expiresAt: e.expiresAt, phrases: e.phrases.map((ph) => ({ label: ph.label, text: ph.text })), audio });
        }
        sections.set('audio', Buffer.concat(clips));
        await writeFileAtomic(this.snapshotPath, encodeSnapshot(header, sections));
        this.dirty = false;
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
      if (!h || !Array.isArray(h.partitions) || !Array.isArray(h.entries)) throw new Error('header lacks partitions/entries');
      const now = this.now();
      const sameVectors = h.backend === baseName(this.embedder.provider.name) && h.dimensions === this.embedder.provider.dimensions;
      const audio = snap.sections.get('audio') ?? new Uint8Array(0);
      if (!sameVectors) {
        // Another backend's vectors mean nothing here: keep the texts, embed them again.
        this.log.info({ from: h.backend, to: this.embedder.provider.name }, 'cache: embedding backend changed; re-embedding stored questions');
        const items: PutItem[] = [];
        for (const e of h.entries) {
          if (e.expiresAt <= now) continue;
          for (const ph of e.phrases) items.push({ key: e.key, query: ph.text, answer: e.answer, source: e.source, entryId: e.id });
        }
        await this.putMany(items);
        await this.mutex.run(() => {
          for (const e of h.entries) {
            const live = this.entries.peek(e.id);
            if (!live) continue;
            live.createdAt = e.createdAt;
            live.expiresAt = e.expiresAt; // TTL stays absolute across restarts
            for (const a of e.audio) live.audio.set(a.voice, Uint8Array.from(audio.subarray(a.offset, a.offset + a.length)));
          }
        });
        return;
      }
      await this.mutex.run(async () => {
        const byKey = new Map<string, Partition>();
        for (const p of h.partitions) {
          const bytes = snap.sections.get(p.section);
          if (!bytes) throw new Error(`missing index section ${p.section}`);
          const index = await SlotIndex.deserialise(bytes, h.dimensions, { ...this.hnsw }, p.live, p.nextLabel);
          const k = normaliseKey(p.key);
          const part: Partition = { pkey: partitionId(k), key: k, index, byLabel: new Map(), exact: new Map() };
          byKey.set(part.pkey, part);
        }
        for (const r of h.entries) {
          const k = normaliseKey(r.key);
          const pkey = partitionId(k);
          const part = byKey.get(pkey);
          if (!part) throw new Error(`entry ${r.id} refers to a missing partition`);
          const e: Entry = { id: r.id, pkey, key: k, answer: r.answer, source: r.source, createdAt: r.createdAt, expiresAt: r.expiresAt, phrases: [], audio: new Map() };
          for (const ph of r.phrases) {
            const norm = normaliseText(ph.text);
            const phrase: Phrase = { label: ph.label, text: ph.text, norm, features: analyse(norm) };
            e.phrases.push(phrase);
            part.byLabel.set(ph.label, { entry: e, phrase });
            part.exact.set(norm, e.id);
          }
          for (const a of r.audio) e.audio.set(a.voice, Uint8Array.from(audio.subarray(a.offset, a.offset + a.length)));
          this.entries.set(e.id, e); // header order is LRU order, oldest first
        }
        for (const [pkey, part] of byKey) this.partitions.set(pkey, part);
        let expired = 0;
        for (const e of [...this.entries.values()]) {
          if (e.expiresAt <= now) {
            this.removeEntry(e);
            expired++;
          }
        }
        this.evictOverCapacity();
        this.persistedAt = h.savedAt;
        this.dirty = expired > 0;
      });
      this.log.info({ path: this.snapshotPath, entries: this.entries.size, partitions: this.partitions.size }, 'cache snapshot loaded');
    } catch (e) {
      // Checksum passed but the content does not fit together: same treatment as corruption.
      this.entries.clear();
      this.partitions.clear();
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

/** "hashing@pool" and "hashing" produce the same vectors. */
function baseName(name: string): string {
  return name.replace(/@pool$/, '');
}
