// Runtime health of every provider the engine uses: rolling time-to-first-output percentiles
// (which also drive the adaptive hedge delay), error rate, breaker state and hedge rate.
// `snapshot()` feeds /health; `events$` (and the EventEmitter API) report breaker transitions,
// hedges and failovers as they happen.
import { EventEmitter } from 'node:events';
import { Subject } from 'rxjs';
import { CircuitBreaker, DEFAULT_BREAKER, type BreakerOptions, type BreakerState } from './breaker.ts';
import type { ProviderErrorKind } from '../../adapters/kit/types.ts';

export type HealthEvent =
  | { type: 'breaker-open' | 'breaker-half-open' | 'breaker-close'; provider: string; reason: string; at: number }
  /** `provider` was slow to first output, so `to` was started alongside it. */
  | { type: 'hedge'; provider: string; to: string; delayMs: number; at: number }
  /** `provider` failed (before or during output) and `to` takes over. */
  | { type: 'failover'; provider: string; to: string; reason: string; midStream: boolean; at: number };

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface ProviderStats {
  provider: string;
  role: string;
  requests: number;
  errors: number;
  /** Share of failed outcomes among the last `outcomeWindow` outcomes. */
  errorRate: number;
  errorsByKind: Partial<Record<ProviderErrorKind, number>>;
  /** Share of this provider's requests that were slow enough to start a hedge. */
  hedgeRate: number;
  hedges: number;
  failovers: number;
  ttftMs: LatencySummary;
  breaker: BreakerState;
}

export interface HealthOptions {
  /** TTFT samples kept per provider (rolling). */
  sampleWindow?: number;
  /** The most recent TTFT samples the hedge delay reads (rolling, shorter: it follows a shift in latency within ~half of it). */
  recentWindow?: number;
  /** Outcomes kept per provider for the error rate. */
  outcomeWindow?: number;
  breaker?: Omit<BreakerOptions, 'onStateChange'>;
  now?: () => number;
}

class Ring {
  private buf: Float64Array;
  private n = 0;
  private i = 0;
  private sorted: Float64Array | null = null;
  constructor(size: number) {
    this.buf = new Float64Array(size);
  }
  push(v: number): void {
    this.buf[this.i] = v;
    this.i = (this.i + 1) % this.buf.length;
    if (this.n < this.buf.length) this.n++;
    this.sorted = null;
  }
  get count(): number {
    return this.n;
  }
  /** Nearest-rank percentile, q in (0, 1]; cached until the next push. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    this.sorted ??= this.buf.slice(0, this.n).sort();
    const rank = Math.min(this.n - 1, Math.max(0, Math.ceil(q * this.n) - 1));
    return this.sorted[rank];
  }
}

interface Entry {
  role: string;
  requests: number;
  errors: number;
  errorsByKind: Partial<Record<ProviderErrorKind, number>>;
  hedges: number;
  failovers: number;
  ttft: Ring;
  recent: Ring;
  outcomes: boolean[]; // true = failed; bounded
  breaker: CircuitBreaker;
}

export class ProviderHealth extends EventEmitter {
  readonly events$ = new Subject<HealthEvent>();
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private opts: HealthOptions = {}) {
    super();
    this.now = opts.now ?? (() => performance.now());
  }

  /** The entry for a provider, created on first use. Names must be unique per engine. */
  private entry(name: string, role = 'unknown'): Entry {
    let e = this.entries.get(name);
    if (!e) {
      const breaker = new CircuitBreaker(name, {
        ...DEFAULT_BREAKER,
        ...this.opts.breaker,
        now: this.opts.breaker?.now ?? this.now,
        onStateChange: (_from, to, reason) => {
          const type = to === 'open' ? 'breaker-open' : to === 'closed' ? 'breaker-close' : 'breaker-half-open';
          this.publish({ type, provider: name, reason, at: this.now() });
        },
      });
      e = { role, requests: 0, errors: 0, errorsByKind: {}, hedges: 0, failovers: 0, ttft: new Ring(this.opts.sampleWindow ?? 512), recent: new Ring(this.opts.recentWindow ?? 100), outcomes: [], breaker };
      this.entries.set(name, e);
    } else if (role !== 'unknown' && e.role === 'unknown') e.role = role;
    return e;
  }

  /** Breaker settings for providers first seen after this call (the registry applies the config). */
  setBreakerOptions(o: Omit<BreakerOptions, 'onStateChange' | 'now'>): void {
    this.opts.breaker = { ...this.opts.breaker, ...o };
  }

  register(name: string, role: string): void {
    this.entry(name, role);
  }

  breaker(name: string): CircuitBreaker {
    return this.entry(name).breaker;
  }

  recordRequest(name: string): void {
    this.entry(name).requests++;
  }

  recordFirstOutput(name: string, ms: number): void {
    const e = this.entry(name);
    e.ttft.push(ms);
    e.recent.push(ms);
    this.pushOutcome(e, false);
  }

  /** A failed attempt (before or during output); `aborted` is never recorded here. */
  recordError(name: string, kind: ProviderErrorKind): void {
    const e = this.entry(name);
    e.errors++;
    e.errorsByKind[kind] = (e.errorsByKind[kind] ?? 0) + 1;
    this.pushOutcome(e, true);
  }

  recordHedge(from: string, to: string, delayMs: number): void {
    this.entry(from).hedges++;
    this.publish({ type: 'hedge', provider: from, to, delayMs, at: this.now() });
  }

  recordFailover(from: string, to: string, reason: string, midStream: boolean): void {
    this.entry(from).failovers++;
    this.publish({ type: 'failover', provider: from, to, reason, midStream, at: this.now() });
  }

  /** Rolling time-to-first-output percentile, or null before any sample. */
  ttftQuantile(name: string, q: number): number | null {
    return this.entries.get(name)?.ttft.quantile(q) ?? null;
  }

  ttftCount(name: string): number {
    return this.entries.get(name)?.ttft.count ?? 0;
  }

  /** Percentile of the most recent samples only (`recentWindow`), which the hedge delay follows. */
  recentTtftQuantile(name: string, q: number): number | null {
    return this.entries.get(name)?.recent.quantile(q) ?? null;
  }

  recentTtftCount(name: string): number {
    return this.entries.get(name)?.recent.count ?? 0;
  }

  snapshot(): { providers: ProviderStats[] } {
    const providers: ProviderStats[] = [];
    for (const [provider, e] of this.entries) {
      const failed = e.outcomes.reduce((a, f) => a + (f ? 1 : 0), 0);
      providers.push({
        provider,
        role: e.role,
        requests: e.requests,
        errors: e.errors,
        errorRate: e.outcomes.length ? failed / e.outcomes.length : 0,
        errorsByKind: { ...e.errorsByKind },
        hedges: e.hedges,
        hedgeRate: e.requests ? e.hedges / e.requests : 0,
        failovers: e.failovers,
        ttftMs: { count: e.ttft.count, p50: e.ttft.quantile(0.5), p95: e.ttft.quantile(0.95), p99: e.ttft.quantile(0.99) },
        breaker: e.breaker.state,
      });
    }
    return { providers };
  }

  private pushOutcome(e: Entry, failed: boolean): void {
    e.outcomes.push(failed);
    if (e.outcomes.length > (this.opts.outcomeWindow ?? 200)) e.outcomes.shift();
  }

  private publish(ev: HealthEvent): void {
    this.events$.next(ev);
    this.emit(ev.type, ev);
    this.emit('event', ev);
  }
}
