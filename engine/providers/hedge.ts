// Hedged requests over an ordered list of providers, for anything that streams output.
//
// raceFirstOutput(): start the first provider whose breaker admits a request; if it has
// produced nothing after the hedge delay (see hedgeDelay: a prior before samples exist, then the
// observed p95 bounded by a multiple of the median), and the hedge budget (a token bucket, see
// HedgeBudget) allows, start the next one too. The first attempt to produce output wins;
// every other attempt is aborted at that moment (AbortSignal + iterator.return()), so only one
// provider's output can ever reach the caller. Errors and a first output that takes longer than
// the hard limit fail the attempt over to the next provider (not budget-limited).
//
// hedgedStream(): runs that race, then streams the winner. If the winner fails or stalls
// mid-stream, the job's resume() builds the request that finishes the answer from what was
// already emitted, and a new race over the remaining providers completes it.
import { ProviderError, type ProviderErrorKind } from '../../adapters/kit/types.ts';
import type { ProviderHealth } from './health.ts';
import type { Logger } from '../log.ts';
import type { Route } from './route.ts';

export interface Candidate<P> {
  /** Unique per engine: health, breaker and metrics are keyed by it. */
  name: string;
  provider: P;
  /** Provider-specific options the chain applies per candidate (e.g. a TTS voice). */
  voice?: string;
  /** This provider's expected time to first output (its spec's expectedFirstOutputMs): the prior of its hedge delay. */
  expectedFirstOutputMs?: number;
}

export interface HedgeSettings {
  /** false: never start a second request for slowness (failover on errors still happens). */
  hedging: boolean;
  minDelayMs: number;
  maxDelayMs: number;
  /** Hard limit for the first output of one attempt; past it the attempt fails over. */
  firstOutputTimeoutMs: number;
  /** Longest silence between two outputs of a committed stream before it counts as failed. */
  stallTimeoutMs: number;
  /** TTFT samples a provider needs before its observed quantile is used (before: k × median only). */
  minSamples: number;
  /** Which TTFT quantile the delay follows while the tail is healthy. */
  quantile: number;
  /** Expected time to first output of a provider with no samples yet (a candidate's own value wins). */
  priorMs: number;
  /** Weight of the prior, in samples: the median estimate is (w·prior + n·observed median) / (w + n). */
  priorWeight: number;
  /** k: the delay never exceeds k × the (prior-blended) median, so a fat tail cannot drag it up. */
  tailMultiple: number;
}

export const DEFAULT_HEDGE: HedgeSettings = {
  hedging: true,
  minDelayMs: 150,
  maxDelayMs: 1500,
  firstOutputTimeoutMs: 4000,
  stallTimeoutMs: 3000,
  minSamples: 20,
  quantile: 0.95,
  priorMs: 400,
  priorWeight: 3,
  tailMultiple: 2.5,
};

export interface BudgetOptions {
  /** Bucket size (gRPC's maxTokens). Hedging is allowed while tokens > maxTokens / 2. */
  maxTokens?: number;
  /** Tokens a success puts back (gRPC's tokenRatio); a failure takes 1. */
  ratio?: number;
}

/**
 * Hedge budget as a token bucket, after gRPC's retry throttling (gRFC A6): the bucket starts
 * full; every failed attempt (an error or a first-output timeout, mid-stream failures included)
 * takes 1 token; every answered request puts `ratio` back. A hedge may start only while
 * tokens > maxTokens / 2.
 *
 * So hedging stops while failures outnumber answers by more than 1 : 1/ratio (an overloaded
 * provider answering 429/503 or timing out: hedges would only add to its load), and it never
 * stops for a provider that merely stalls: as in A6, an attempt cancelled because another one
 * answered first (a rescued stall, or a hedge that lost) is neither a failure nor a success.
 * Failovers never need the budget.
 */
export class HedgeBudget {
  readonly maxTokens: number;
  readonly ratio: number;
  // Thousandths of a token, as gRPC keeps them: no drift from adding 0.1 many times.
  private milli: number;
  private readonly maxMilli: number;
  private readonly refundMilli: number;
  totalRequests = 0;
  totalHedges = 0;
  /** Hedges the bucket refused. */
  refused = 0;
  /** Lowest level the bucket reached. */
  lowest: number;

  constructor(o: BudgetOptions = {}) {
    this.maxTokens = o.maxTokens ?? 10;
    this.ratio = o.ratio ?? 0.1;
    if (!(this.maxTokens > 0) || !(this.ratio >= 0)) throw new Error(`HedgeBudget: maxTokens must be > 0 and ratio ≥ 0, got ${this.maxTokens}, ${this.ratio}`);
    this.maxMilli = Math.round(this.maxTokens * 1000);
    this.refundMilli = Math.round(this.ratio * 1000);
    this.milli = this.maxMilli;
    this.lowest = this.maxTokens;
  }

  get tokens(): number {
    return this.milli / 1000;
  }

  noteRequest(): void {
    this.totalRequests++;
  }

  /** Whether a hedge may start now (a refusal is counted). */
  allows(): boolean {
    if (this.milli * 2 > this.maxMilli) return true;
    this.refused++;
    return false;
  }

  noteHedge(): void {
    this.totalHedges++;
  }

  /** A request got its answer (its first output). */
  success(): void {
    this.milli = Math.min(this.maxMilli, this.milli + this.refundMilli);
  }

  /** An attempt failed (error or timeout). */
  failure(): void {
    this.milli = Math.max(0, this.milli - 1000);
    this.lowest = Math.min(this.lowest, this.tokens);
  }
}

/**
 * Hedge delay for a provider. The healthy mode is estimated by the median of its last 100
 * time-to-first-output samples (ProviderHealth's recentWindow), blended with a prior (the
 * candidate's expectedFirstOutputMs, else `priorMs`) that carries `priorWeight` samples' weight,
 * so there is a sensible delay from the first request. The delay is min(quantile, k × that
 * median), the quantile (over the whole, longer sample window: steadier) only once `minSamples`
 * exist, clamped to [minDelayMs, maxDelayMs]. Bounding it by k × median keeps it near the healthy
 * mode when stalls fill the tail: once more than 5 % of requests stall, the p95 is the stall, and
 * following it would push the delay up exactly when hedging is needed. The median's short window
 * lets a real shift in latency (both providers slower) move it within ~50 requests, so hedging
 * stops firing at every request soon after.
 */
export function hedgeDelay(health: ProviderHealth, name: string, s: HedgeSettings, priorMs?: number): number {
  const recent = health.recentTtftCount(name);
  const prior = priorMs ?? s.priorMs;
  const median = recent === 0 ? prior : (s.priorWeight * prior + recent * health.recentTtftQuantile(name, 0.5)!) / (s.priorWeight + recent);
  let d = s.tailMultiple * median;
  if (health.ttftCount(name) >= s.minSamples) d = Math.min(d, health.ttftQuantile(name, s.quantile)!);
  return Math.min(s.maxDelayMs, Math.max(s.minDelayMs, Math.round(d)));
}

export interface RaceContext {
  health: ProviderHealth;
  budget: HedgeBudget;
  settings: HedgeSettings;
  signal: AbortSignal;
  log?: Logger;
  /** This request's route: the race notes its hedges, failovers and winner here (route.ts). */
  route?: Route;
}

export interface Won<P, T> {
  candidate: Candidate<P>;
  iterator: AsyncIterator<T>;
  first: IteratorResult<T>;
  controller: AbortController;
  /** Candidates that failed during the race (the next race skips them). */
  failed: Set<string>;
}

const noop = () => {};

/** Normalises anything thrown by an adapter into a ProviderError. */
export function toProviderError(e: unknown, provider: string): ProviderError {
  if (e instanceof ProviderError) return e;
  const err = e as { name?: string; message?: string } | undefined;
  if (err?.name === 'AbortError') return new ProviderError(provider, 'aborted', 'aborted', undefined, { cause: e });
  return new ProviderError(provider, 'unknown', err?.message ?? String(e), undefined, { cause: e });
}

/** One error for a chain where every provider failed, keeping the most telling kind. */
function combined(chain: string, errors: ProviderError[]): ProviderError {
  if (errors.length === 0) return new ProviderError(chain, 'server', 'no provider available (all circuit breakers open)');
  const last = errors[errors.length - 1];
  const kind: ProviderErrorKind = last.kind;
  const detail = errors.map((e) => e.message).join('; ');
  return new ProviderError(chain, kind, `all providers failed: ${detail}`, last.retryAfterMs, { cause: last });
}

interface Attempt<P, T> {
  c: Candidate<P>;
  ac: AbortController;
  it?: AsyncIterator<T>;
  t0: number;
  live: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

/** Races the candidates (in order, hedged) until one produces its first output. */
export function raceFirstOutput<P, T>(
  chain: string,
  cands: Candidate<P>[],
  start: (c: Candidate<P>, signal: AbortSignal) => AsyncIterable<T>,
  rc: RaceContext,
): Promise<Won<P, T>> {
  return new Promise<Won<P, T>>((resolve, reject) => {
    const { health, settings: s } = rc;
    const atts: Attempt<P, T>[] = [];
    const failed = new Set<string>();
    const errors: ProviderError[] = [];
    const skipped: Candidate<P>[] = [];
    let next = 0;
    let settled = false;
    let hedgeTimer: ReturnType<typeof setTimeout> | undefined;

    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(hedgeTimer);
      rc.signal.removeEventListener('abort', onAbort);
      f();
    };
    const stop = (a: Attempt<P, T>) => {
      a.live = false;
      clearTimeout(a.timer);
      a.ac.abort();
      a.it?.return?.()?.catch(noop);
    };
    const onAbort = () => {
      for (const a of atts) if (a.live) {
        stop(a);
        health.breaker(a.c.name).release();
      }
      finish(() => reject(new ProviderError(chain, 'aborted', 'aborted by caller')));
    };
    if (rc.signal.aborted) return reject(new ProviderError(chain, 'aborted', 'aborted by caller'));
    rc.signal.addEventListener('abort', onAbort, { once: true });

    const launch = (c: Candidate<P>) => {
      const a: Attempt<P, T> = { c, ac: new AbortController(), t0: performance.now(), live: true };
      atts.push(a);
      health.recordRequest(c.name);
      a.timer = setTimeout(() => fail(a, new ProviderError(c.name, 'timeout', `no first output within ${s.firstOutputTimeoutMs} ms`)), s.firstOutputTimeoutMs);
      try {
        a.it = start(c, a.ac.signal)[Symbol.asyncIterator]();
        a.it.next().then((r) => win(a, r), (e) => fail(a, e));
      } catch (e) {
        queueMicrotask(() => fail(a, e)); // a synchronous throw is a failure like any other
      }
      scheduleHedge(c);
    };

    /** Starts the next candidate whose breaker admits a request; false when none is left. */
    const launchNext = (): Candidate<P> | undefined => {
      while (next < cands.length) {
        const c = cands[next++];
        if (!health.breaker(c.name).tryAcquire()) {
          skipped.push(c);
          continue;
        }
        launch(c);
        return c;
      }
      return undefined;
    };

    const scheduleHedge = (c: Candidate<P>) => {
      clearTimeout(hedgeTimer);
      if (!s.hedging || next >= cands.length) return;
      const delay = hedgeDelay(health, c.name, s, c.expectedFirstOutputMs);
      hedgeTimer = setTimeout(() => {
        if (settled || !rc.budget.allows()) return;
        const to = launchNext();
        if (!to) return; // every breaker left is open
        rc.budget.noteHedge();
        health.recordHedge(c.name, to.name, delay);
        rc.route?.hedges.push({ from: c.name, to: to.name });
      }, delay);
    };

    const fail = (a: Attempt<P, T>, e: unknown) => {
      if (!a.live || settled) return;
      stop(a);
      if (rc.signal.aborted) return onAbort();
      const pe = toProviderError(e, a.c.name);
      errors.push(pe);
      failed.add(a.c.name);
      health.recordError(a.c.name, pe.kind);
      // A malformed request is ours to fix, not a sign the provider is down.
      if (pe.kind === 'bad_request') health.breaker(a.c.name).release();
      else {
        health.breaker(a.c.name).failure(pe.kind);
        rc.budget.failure();
      }
      rc.log?.warn({ provider: a.c.name, kind: pe.kind, err: pe.message }, 'provider attempt failed');
      if (atts.some((x) => x.live)) return; // another attempt may still win
      const to = launchNext();
      if (to) {
        health.recordFailover(a.c.name, to.name, pe.message, false);
        rc.route?.failovers.push({ from: a.c.name, to: to.name, midStream: false });
      }
      else finish(() => reject(combined(chain, errors)));
    };

    const win = (a: Attempt<P, T>, r: IteratorResult<T>) => {
      if (!a.live || settled) {
        // Output from an attempt that already lost or failed never reaches the caller.
        if (a.live) stop(a);
        return;
      }
      clearTimeout(a.timer);
      a.live = false;
      const winnerIndex = atts.indexOf(a);
      for (const [i, o] of atts.entries()) if (o.live) {
        stop(o);
        // An earlier attempt still silent when its hedge answered is a soft failure for its
        // breaker (a hung provider looks exactly like this); a later one just lost: no verdict.
        if (i < winnerIndex) health.breaker(o.c.name).failure('silent past its hedge');
        else health.breaker(o.c.name).release();
      }
      health.recordFirstOutput(a.c.name, performance.now() - a.t0);
      health.breaker(a.c.name).success();
      rc.budget.success();
      rc.route?.providers.push(a.c.name);
      finish(() => resolve({ candidate: a.c, iterator: a.it!, first: r, controller: a.ac, failed }));
    };

    if (!launchNext()) {
      // Every breaker is open: rather than refuse the turn, try the first provider anyway.
      const c = skipped.shift();
      if (c) launch(c);
      else finish(() => reject(combined(chain, errors)));
    }
  });
}

/** A unit of work a chain can hand to any of its providers, and resume after a failure. */
export interface StreamJob<P, T> {
  start(c: Candidate<P>, signal: AbortSignal): AsyncIterable<T>;
  /**
   * The job that finishes the work after `emitted` (everything the caller received so far, over
   * all providers) was delivered; null when nothing is left. Absent: mid-stream failures throw.
   */
  resume?(emitted: readonly T[]): StreamJob<P, T> | null;
}

/** Next output of a committed stream, failing it when it stays silent past the stall limit. */
function nextWithStall<T>(it: AsyncIterator<T>, ac: AbortController, ms: number, name: string): Promise<IteratorResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new ProviderError(name, 'timeout', `stream stalled: nothing for ${ms} ms mid-answer`));
    }, ms);
  });
  return Promise.race([it.next(), stalled]).finally(() => clearTimeout(timer));
}

/** Hedged, failing-over stream over `cands`; see the file header. */
export async function* hedgedStream<P, T>(chain: string, cands: Candidate<P>[], job: StreamJob<P, T>, rc: RaceContext): AsyncGenerator<T> {
  rc.budget.noteRequest();
  let remaining = cands;
  let current: StreamJob<P, T> = job;
  const emitted: T[] = [];
  for (;;) {
    const won = await raceFirstOutput(chain, remaining, (c, sig) => current.start(c, sig), rc);
    remaining = remaining.filter((c) => c !== won.candidate && !won.failed.has(c.name));
    let done = false;
    try {
      let r = won.first;
      while (!r.done) {
        emitted.push(r.value);
        yield r.value;
        r = await nextWithStall(won.iterator, won.controller, rc.settings.stallTimeoutMs, won.candidate.name);
      }
      done = true;
      return;
    } catch (e) {
      if (rc.signal.aborted) throw new ProviderError(chain, 'aborted', 'aborted by caller');
      const pe = toProviderError(e, won.candidate.name);
      rc.health.recordError(won.candidate.name, pe.kind);
      rc.health.breaker(won.candidate.name).failure(`mid-stream ${pe.kind}`);
      rc.budget.failure();
      const next = current.resume?.(emitted);
      if (next === null) {
        done = true; // the failure came after everything was said
        return;
      }
      if (!next || remaining.length === 0) throw pe;
      rc.health.recordFailover(won.candidate.name, remaining[0].name, pe.message, true);
      rc.route?.failovers.push({ from: won.candidate.name, to: remaining[0].name, midStream: true });
      rc.log?.warn({ provider: won.candidate.name, kind: pe.kind }, 'stream failed mid-answer; finishing with the next provider');
      current = next;
    } finally {
      if (!done) {
        // The consumer stopped early, or the stream failed: stop the provider now.
        won.controller.abort();
        won.iterator.return?.()?.catch(noop);
      }
    }
  }
}
