// Hedged requests over an ordered list of providers, for anything that streams output.
//
// raceFirstOutput(): start the first provider whose breaker admits a request; if it has
// produced nothing after the hedge delay (≈ its observed p95 time-to-first-output, clamped),
// and the hedge budget allows, start the next one too. The first attempt to produce output wins;
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

export interface Candidate<P> {
  /** Unique per engine: health, breaker and metrics are keyed by it. */
  name: string;
  provider: P;
  /** Provider-specific options the chain applies per candidate (e.g. a TTS voice). */
  voice?: string;
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
  /** TTFT samples a provider needs before its adaptive delay is trusted (else maxDelayMs). */
  minSamples: number;
  /** Which TTFT quantile the delay follows. */
  quantile: number;
}

export const DEFAULT_HEDGE: HedgeSettings = {
  hedging: true,
  minDelayMs: 150,
  maxDelayMs: 1500,
  firstOutputTimeoutMs: 4000,
  stallTimeoutMs: 3000,
  minSamples: 20,
  quantile: 0.95,
};

/**
 * Caps hedges at `ratio` of the requests seen over a sliding window, plus one per window so a
 * quiet engine (a few turns a minute) can still hedge at all. Failovers do not spend it.
 */
export class HedgeBudget {
  private requests: number[] = [];
  private hedges: number[] = [];
  private readonly now: () => number;
  totalRequests = 0;
  totalHedges = 0;

  constructor(
    readonly ratio: number,
    readonly windowMs: number,
    now?: () => number,
  ) {
    this.now = now ?? (() => performance.now());
  }

  noteRequest(): void {
    this.requests.push(this.now());
    this.totalRequests++;
  }

  tryHedge(): boolean {
    const t = this.now();
    prune(this.requests, t - this.windowMs);
    prune(this.hedges, t - this.windowMs);
    const allowed = Math.max(1, Math.floor(this.ratio * this.requests.length));
    if (this.ratio <= 0 || this.hedges.length >= allowed) return false;
    this.hedges.push(t);
    this.totalHedges++;
    return true;
  }
}

function prune(a: number[], cutoff: number): void {
  let i = 0;
  while (i < a.length && a[i] < cutoff) i++;
  if (i > 0) a.splice(0, i);
}

/** Adaptive hedge delay for a provider: its TTFT quantile clamped to [min, max]. */
export function hedgeDelay(health: ProviderHealth, name: string, s: HedgeSettings): number {
  if (health.ttftCount(name) < s.minSamples) return s.maxDelayMs;
  const q = health.ttftQuantile(name, s.quantile) ?? s.maxDelayMs;
  return Math.min(s.maxDelayMs, Math.max(s.minDelayMs, Math.round(q)));
}

export interface RaceContext {
  health: ProviderHealth;
  budget: HedgeBudget;
  settings: HedgeSettings;
  signal: AbortSignal;
  log?: Logger;
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
      const delay = hedgeDelay(health, c.name, s);
      hedgeTimer = setTimeout(() => {
        if (settled || !rc.budget.tryHedge()) return;
        const to = launchNext();
        if (to) health.recordHedge(c.name, to.name, delay);
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
      else health.breaker(a.c.name).failure(pe.kind);
      rc.log?.warn({ provider: a.c.name, kind: pe.kind, err: pe.message }, 'provider attempt failed');
      if (atts.some((x) => x.live)) return; // another attempt may still win
      const to = launchNext();
      if (to) health.recordFailover(a.c.name, to.name, pe.message, false);
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
      const next = current.resume?.(emitted);
      if (next === null) {
        done = true; // the failure came after everything was said
        return;
      }
      if (!next || remaining.length === 0) throw pe;
      rc.health.recordFailover(won.candidate.name, remaining[0].name, pe.message, true);
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
