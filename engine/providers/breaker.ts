// Circuit breaker, one per provider. A provider that keeps failing is skipped (open) so turns
// stop paying its timeout; after a cool-down one probe request is let through (half-open) and
// its outcome closes or re-opens the breaker.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Opens after this many consecutive failures. */
  failureThreshold: number;
  /** …or when this share of the outcomes in `windowMs` failed, once `minRequests` were seen. */
  failureRatio: number;
  windowMs: number;
  minRequests: number;
  /** How long an open breaker waits before allowing a probe. */
  cooldownMs: number;
  /** Injectable clock (ms) for tests; defaults to performance.now(). */
  now?: () => number;
  onStateChange?: (from: BreakerState, to: BreakerState, reason: string) => void;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 5, failureRatio: 0.5, windowMs: 10_000, minRequests: 10, cooldownMs: 5000 };

export class CircuitBreaker {
  private stateValue: BreakerState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private probeInFlight = false;
  /** Outcome timestamps in the window: [time, failed]. Pruned from the head. */
  private outcomes: Array<[number, boolean]> = [];
  private readonly now: () => number;

  constructor(
    readonly name: string,
    private readonly opts: BreakerOptions = DEFAULT_BREAKER,
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  get state(): BreakerState {
    // An open breaker whose cool-down has passed reports half-open (a probe may go).
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.opts.cooldownMs) return 'half-open';
    return this.stateValue;
  }

  /** Whether a request may go to this provider now, without reserving anything. */
  canAttempt(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'half-open' && !this.probeInFlight);
  }

  /**
   * Reserves the right to send one request. In half-open state only one probe is in flight at
   * a time; the caller must then report success(), failure() or release().
   */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'half-open' && !this.probeInFlight) {
      if (this.stateValue === 'open') this.transition('half-open', 'cool-down elapsed');
      this.probeInFlight = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.record(false);
    this.consecutive = 0;
    if (this.stateValue !== 'closed') {
      this.probeInFlight = false;
      this.outcomes = [];
      this.transition('closed', 'probe succeeded');
    }
  }

  failure(reason = 'failure'): void {
    this.record(true);
    this.consecutive++;
    if (this.stateValue === 'half-open') {
      this.probeInFlight = false;
      this.trip(`probe failed: ${reason}`);
      return;
    }
    if (this.stateValue === 'open') return;
    if (this.consecutive >= this.opts.failureThreshold) {
      this.trip(`${this.consecutive} consecutive failures (last: ${reason})`);
      return;
    }
    const n = this.outcomes.length;
    if (n >= this.opts.minRequests) {
      const failed = this.outcomes.reduce((a, [, f]) => a + (f ? 1 : 0), 0);
      if (failed / n >= this.opts.failureRatio) this.trip(`${failed}/${n} failed in ${this.opts.windowMs} ms (last: ${reason})`);
    }
  }

  /** The reserved request ended with no verdict (the caller aborted it, or it lost a hedge race). */
  release(): void {
    this.probeInFlight = false;
  }

  /** Opens now, whatever this instance counted: another instance found the provider failing (engine/shared/). */
  forceOpen(reason: string): void {
    if (this.state === 'open') return;
    this.probeInFlight = false;
    this.trip(reason);
  }

  private trip(reason: string): void {
    this.openedAt = this.now();
    this.transition('open', reason);
  }

  private record(failed: boolean): void {
    const t = this.now();
    this.outcomes.push([t, failed]);
    const cutoff = t - this.opts.windowMs;
    let i = 0;
    while (i < this.outcomes.length && this.outcomes[i][0] < cutoff) i++;
    if (i > 0) this.outcomes.splice(0, i);
  }

  private transition(to: BreakerState, reason: string): void {
    const from = this.stateValue;
    if (from === to) return;
    this.stateValue = to;
    this.opts.onStateChange?.(from, to, reason);
  }
}
