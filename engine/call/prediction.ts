// Prediction of the caller's next question, as the product brief asks: have the likely next
// answer's audio ready, in the call's voice and language, before the caller asks. The cache
// counts which entry answers the turn after which (engine/cache/transitions.ts). When a turn is
// answered by an entry (a hit, or an LLM answer the cache stored), the entries that usually come
// next and have no audio for the call's voice yet are synthesised in the background, off the
// turn's path, and attached to the cache: when the caller asks, the hit plays at once.
//
// Predictor is engine-wide: the bound on concurrent syntheses (a prediction that finds it full
// is dropped, never queued: a late prediction is worth nothing) and the counters. CallPredictions
// is one call's: the order of its answers and what it predicted. Every prediction started
// ("made") ends as exactly one of: used (asked, audio ready), late (asked before its audio was),
// wasted (not asked from the cache before the call ended), failed (synthesis failed).
import type { Counter } from 'prom-client';
import type { Logger } from '../../adapters/kit/log.ts';
import type { Config } from '../config.ts';
import type { AnswerCache, CacheKey } from './answer-cache.ts';

export type PredictionOutcome = 'made' | 'used' | 'late' | 'wasted' | 'failed' | 'dropped';

/** Full synthesis of a text in the call's voice and language, as 8 kHz μ-law (a media transport's TTS). */
export type Presynthesize = (text: string, signal: AbortSignal) => Promise<Uint8Array>;

export interface PredictorOptions {
  enabled: boolean;
  minProbability: number;
  minCount: number;
  concurrency: number;
  /** Longest a background synthesis may run. */
  timeoutMs?: number;
}

/** Answers remembered per call, to pair a late-stored answer with its neighbours. */
const RECENT_ANSWERS = 4;

export class Predictor {
  readonly counts: Record<PredictionOutcome, number> = { made: 0, used: 0, late: 0, wasted: 0, failed: 0, dropped: 0 };
  private active = 0;
  /** entry + voice being synthesised, by any call. */
  private readonly inFlight = new Set<string>();

  constructor(
    readonly opts: PredictorOptions,
    private readonly counter?: Pick<Counter<'outcome'>, 'inc'>,
  ) {}

  static fromConfig(cfg: Pick<Config, 'CACHE_PREDICT' | 'CACHE_PREDICT_MIN_PROB' | 'CACHE_PREDICT_MIN_COUNT' | 'CACHE_PREDICT_CONCURRENCY'>, counter?: Pick<Counter<'outcome'>, 'inc'>): Predictor {
    return new Predictor({ enabled: cfg.CACHE_PREDICT, minProbability: cfg.CACHE_PREDICT_MIN_PROB, minCount: cfg.CACHE_PREDICT_MIN_COUNT, concurrency: cfg.CACHE_PREDICT_CONCURRENCY }, counter);
  }

  forCall(cache: AnswerCache | undefined, log: Logger): CallPredictions | undefined {
    return cache ? new CallPredictions(this, cache, log) : undefined;
  }

  count(outcome: PredictionOutcome): void {
    this.counts[outcome]++;
    this.counter?.inc({ outcome });
  }

  /** Runs a synthesis within the bound; false when it is full or the same one is under way. */
  run(entryId: string, voice: string, job: (signal: AbortSignal) => Promise<void>, callSignal: AbortSignal): boolean {
    const k = `${entryId}\u0000${voice}`;
    if (this.inFlight.has(k)) return false;
    if (this.active >= this.opts.concurrency) {
      this.count('dropped');
      return false;
    }
    this.active++;
    this.inFlight.add(k);
    const signal = AbortSignal.any([callSignal, AbortSignal.timeout(this.opts.timeoutMs ?? 30_000)]);
    void job(signal).finally(() => {
      this.active--;
      this.inFlight.delete(k);
    });
    return true;
  }
}

interface Prediction {
  ready: boolean;
}

export class CallPredictions {
  /** Recent answers: the call's answer ordinal → the entry that gave it. */
  private readonly recent = new Map<number, string>();
  private latest = 0;
  /** Predicted in this call and not asked yet. */
  private readonly pending = new Map<string, Prediction>();
  private readonly ac = new AbortController();

  constructor(
    private readonly predictor: Predictor,
    private readonly cache: AnswerCache,
    private readonly log: Logger,
  ) {}

  /**
   * The call's `ordinal`-th answered turn was answered by entry `entryId`: from the cache (`hit`)
   * or by an LLM answer the cache stored under that entry (which may be known only after later
   * turns). Counts it as following the previous answer, settles a prediction of it, and starts
   * predictions of what usually follows it when it is the call's latest answer.
   */
  answered(ordinal: number, entryId: string, key: CacheKey, how: { hit: boolean; audio: boolean }, synth?: Presynthesize): void {
    if (this.ac.signal.aborted) return;
    const before = this.recent.get(ordinal - 1);
    const after = this.recent.get(ordinal + 1);
    if (before) this.cache.followed?.(before, entryId);
    if (after) this.cache.followed?.(entryId, after);
    this.recent.set(ordinal, entryId);
    for (const o of this.recent.keys()) if (o <= ordinal - RECENT_ANSWERS) this.recent.delete(o);

    const p = this.pending.get(entryId);
    if (p) {
      this.pending.delete(entryId);
      this.predictor.count(!how.hit ? 'wasted' : p.ready && how.audio ? 'used' : 'late');
    }
    if (ordinal < this.latest) return; // an older turn's answer, stored late: the call has moved on
    this.latest = ordinal;
    this.predictFrom(entryId, key, synth);
  }

  /** The call ended: what it predicted and never asked was wasted; syntheses under way stop. */
  end(): void {
    for (const _ of this.pending.values()) this.predictor.count('wasted');
    this.pending.clear();
    this.ac.abort();
  }

  private predictFrom(entryId: string, key: CacheKey, synth?: Presynthesize): void {
    const { opts } = this.predictor;
    if (!opts.enabled || !synth || !key.voice || !this.cache.likelyNext) return;
    for (const next of this.cache.likelyNext(entryId, key, { probability: opts.minProbability, count: opts.minCount })) {
      if (next.hasAudio || this.pending.has(next.entryId)) continue;
      const p: Prediction = { ready: false };
      this.pending.set(next.entryId, p); // before the job runs: it may settle at once
      const started = this.predictor.run(
        next.entryId,
        key.voice,
        async (signal) => {
          try {
            const audio = await synth(next.text, signal);
            if (signal.aborted) throw signal.reason ?? new Error('aborted');
            this.cache.attachAudio(next.entryId, key.voice, audio);
            p.ready = true;
          } catch (err) {
            if (this.pending.get(next.entryId) !== p) return; // settled already (asked, or the call ended)
            this.pending.delete(next.entryId);
            this.predictor.count('failed');
            this.log.debug({ entryId: next.entryId, err: (err as Error).message }, 'prediction: synthesis failed');
          }
        },
        this.ac.signal,
      );
      if (!started) {
        this.pending.delete(next.entryId);
        continue;
      }
      this.predictor.count('made');
      this.log.debug({ from: entryId, next: next.entryId, probability: next.probability, count: next.count }, 'prediction: synthesising the likely next answer');
    }
  }
}
