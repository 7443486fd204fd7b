// The response cache shared between instances, beside the local one (engine/cache/). Calls keep
// using the local cache, in memory, through this layer (it is their AnswerCache): lookups never
// touch Redis. What an instance learns is told to the others:
// - a learned entry (and any question put on an entry: an alias) is appended to a Redis stream,
//   `cache:log`; every instance reads that stream (from its start at boot, then blocking on new
//   records) and puts each entry into its own cache under the same entry id, so its exact tier
//   and HNSW replica hold it;
// - synthesized audio is stored once under `cache:audio:<entry>:<voice>` (with the cache TTL) and
//   announced on the stream; the others fetch and attach it;
// - learn counts are shared (`cache:learn:<hash>`, INCR): a question answered once on A and once
//   on B has been seen twice, and the second instance stores and shares it.
// If Redis is down, learning and lookups go on locally; what is learned meanwhile is written when
// it is back (RedisLink's write queue).
import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { AnswerCache } from '../call/answer-cache.ts';
import { normaliseKey, type CacheHit, type CacheKey, type CachePut, type NextAnswer, type ResponseCache } from '../cache/index.ts';
import { partitionId } from '../cache/cache-key.ts';
import { normaliseText } from '../../adapters/kit/normalise.ts';
import { LearningPolicy } from '../cache/learning.ts';
import type { RedisLink } from './redis-link.ts';

/** Stream records kept (approximate MAXLEN), per cache capacity. */
const LOG_PER_ENTRY = 4;
/** Records read per XREAD. */
const READ_BATCH = 200;
/** XREAD BLOCK time: short, so close() is prompt. */
const BLOCK_MS = 1000;

type PutRecord = { t: 'put'; id: string; key: CacheKey; q: string; a: string; s: CachePut['source'] };
type AudioRecord = { t: 'audio'; id: string; voice: string };
type LogRecord = PutRecord | AudioRecord;

export interface SharedCacheCounters {
  published: number;
  applied: number;
  audioPublished: number;
  audioApplied: number;
  applyErrors: number;
  sharedLearns: number;
}

export class SharedCache implements AnswerCache {
  readonly counters: SharedCacheCounters = { published: 0, applied: 0, audioPublished: 0, audioApplied: 0, applyErrors: 0, sharedLearns: 0 };
  /** Entries this instance put from the stream (so it does not announce them again). */
  private readonly fromLog = new Set<string>();
  /** Whether learn() may store an answer at all (policy checks with a count of one). */
  private readonly acceptable: LearningPolicy;
  private readonly log: Logger;
  private readonly logKey: string;
  private lastId = '0-0';
  private running = false;
  private reading?: Promise<void>;
  /** Resolves once the stream's backlog (records before boot) has been applied. */
  readonly caughtUp: Promise<void>;
  private markCaughtUp!: () => void;

  constructor(
    readonly local: ResponseCache,
    private readonly link: RedisLink,
    private readonly cfg: Config,
    /** This instance's id in stream records (records it wrote are not applied again). */
    private readonly origin: string,
    log: Logger,
  ) {
    this.log = log.child({ component: 'shared-cache' });
    this.logKey = link.key('cache', 'log');
    this.acceptable = new LearningPolicy({ minCount: 1, maxChars: cfg.CACHE_LEARN_MAX_CHARS, maxTracked: 1 });
    this.caughtUp = new Promise((r) => (this.markCaughtUp = r));
  }

  /** Starts following the stream (in the background; never throws). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.reading = this.follow();
  }

  // ------------------------------------------------------------------ AnswerCache (the calls' view)

  lookup(key: CacheKey, query: string): Promise<CacheHit | null> {
    return this.local.lookup(key, query); // local memory only: Redis is never on a turn's path
  }

  async learn(key: CacheKey, query: string, answer: string, cacheable: boolean): Promise<string | null> {
    const id = await this.local.learn(key, query, answer, cacheable);
    if (id) {
      this.publishPut(id, key, query, answer, 'learned');
      this.link.write('learn-reset', (r) => r.del(this.countKey(key, query)));
      return id;
    }
    // Not stored here (yet): count the sighting across instances, if the answer may be stored at all.
    if (!this.cfg.PERFORMANCE_CACHE_ENABLED || !this.cfg.CACHE_LEARN_ENABLED || this.acceptable.consider(key, query, answer, cacheable).action !== 'store') return null;
    const ck = this.countKey(key, query);
    const seen = await this.link.read('learn-count', async (r) => {
      const [[, n]] = (await r.multi().incr(ck).expire(ck, this.cfg.CACHE_TTL_S).exec()) as [[null, number], unknown];
      return n;
    });
    if (seen === undefined || seen < this.cfg.CACHE_LEARN_MIN_COUNT) return null;
    const stored = await this.local.put(key, query, answer, { source: 'learned' });
    this.counters.sharedLearns++;
    this.publishPut(stored, key, query, answer, 'learned');
    this.link.write('learn-reset', (r) => r.del(ck));
    return stored;
  }

  attachAudio(entryId: string, voice: string, ulaw: Uint8Array): void {
    const had = this.local.hasAudio(entryId, voice);
    this.local.attachAudio(entryId, voice, ulaw);
    if (had || !this.local.hasAudio(entryId, voice)) return; // nothing new, or refused (too long)
    if (entryId.startsWith('faq:')) return; // every instance pre-warms its own FAQ audio
    const audioKey = this.link.key('cache', 'audio', entryId, voice);
    const bytes = Buffer.from(ulaw.buffer, ulaw.byteOffset, ulaw.byteLength);
    this.counters.audioPublished++;
    this.link.write('cache-audio', (r) =>
      r
        .multi()
        .set(audioKey, bytes, 'EX', this.cfg.CACHE_TTL_S)
        .xadd(this.logKey, 'MAXLEN', '~', this.maxLen(), '*', 'o', this.origin, 'r', JSON.stringify({ t: 'audio', id: entryId, voice } satisfies AudioRecord))
        .exec(),
    );
  }

  /** Which answer follows which stays on this instance (persisted in its snapshot, not shared). */
  followed(from: string, to: string): void {
    this.local.followed(from, to);
  }

  likelyNext(from: string, key: CacheKey, min: { probability: number; count: number }): NextAnswer[] {
    return this.local.likelyNext(from, key, min);
  }

  // ------------------------------------------------------------------ writes that are shared

  /** Stores (or extends: an alias) an entry here and on every instance. */
  async put(key: CacheKey, query: string, answer: string, opts: { source?: CachePut['source']; entryId?: string } = {}): Promise<string> {
    const id = await this.local.put(key, query, answer, opts);
    this.publishPut(id, key, query, answer, opts.source ?? 'learned');
    return id;
  }

  stats(): object {
    return { ...this.counters, lastRecord: this.lastId };
  }

  async close(): Promise<void> {
    this.running = false;
    this.markCaughtUp();
    await this.reading;
  }

  // ------------------------------------------------------------------ the stream

  private publishPut(id: string, key: CacheKey, q: string, a: string, s: CachePut['source']): void {
    if (this.fromLog.has(id)) return;
    this.counters.published++;
    const rec: PutRecord = { t: 'put', id, key: normaliseKey(key), q, a, s };
    this.link.write('cache-put', (r) => r.xadd(this.logKey, 'MAXLEN', '~', this.maxLen(), '*', 'o', this.origin, 'r', JSON.stringify(rec)));
  }

  /** Reads the stream from its start, then blocks for new records, until close(). */
  private async follow(): Promise<void> {
    let backlog = true;
    while (this.running) {
      if (!this.link.up) {
        await sleep(200);
        continue;
      }
      let res: Array<[string, Array<[string, string[]]>]> | null = null;
      try {
        res = backlog
          ? await this.link.reader.xread('COUNT', READ_BATCH, 'STREAMS', this.logKey, this.lastId)
          : await this.link.reader.xread('COUNT', READ_BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.logKey, this.lastId);
      } catch (e) {
        if (this.running) this.log.debug({ err: (e as Error).message }, 'cache stream read failed; retrying');
        await sleep(200);
        continue;
      }
      const records = res?.[0]?.[1] ?? [];
      for (const [id, fields] of records) {
        this.lastId = id;
        await this.apply(fields);
      }
      if (backlog && records.length < READ_BATCH) {
        backlog = false;
        this.markCaughtUp();
      }
    }
  }

  private async apply(fields: string[]): Promise<void> {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
    if (f.o === this.origin) return;
    try {
      const rec = JSON.parse(f.r) as LogRecord;
      if (rec.t === 'put') {
        this.fromLog.add(rec.id);
        await this.local.put(rec.key, rec.q, rec.a, { source: rec.s, entryId: rec.id });
        this.counters.applied++;
      } else if (rec.t === 'audio') {
        if (!this.local.has(rec.id) || this.local.hasAudio(rec.id, rec.voice)) return;
        const bytes = await this.link.read('cache-audio', (r) => r.getBuffer(this.link.key('cache', 'audio', rec.id, rec.voice)));
        if (!bytes) return; // expired, or Redis gone: the entry still answers with text
        this.local.attachAudio(rec.id, rec.voice, new Uint8Array(bytes));
        this.counters.audioApplied++;
      }
    } catch (e) {
      this.counters.applyErrors++;
      this.log.warn({ err: (e as Error).message }, 'shared cache record not applied');
    }
  }

  private countKey(key: CacheKey, query: string): string {
    const h = createHash('sha1').update(partitionId(normaliseKey(key))).update('\u0000').update(normaliseText(query)).digest('hex');
    return this.link.key('cache', 'learn', h);
  }

  private maxLen(): number {
    return this.cfg.CACHE_CAPACITY * LOG_PER_ENTRY;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
