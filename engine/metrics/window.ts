// Percentiles over a sliding time window, cheap enough for the per-frame hot path.
// Prometheus histograms have coarse buckets and cannot forget; live alerts, the dashboard and
// the load generator need "p99 over the last N seconds" at ~1 % precision. Values go into
// log-spaced buckets (2 % wide), one bucket set per second; a query merges the seconds in the
// window. observe() is O(1) and allocates nothing.

/** Smallest value told apart from zero, in the unit observed (milliseconds here). */
const MIN_VALUE = 0.01;
/** Relative width of one bucket. */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Buckets cover MIN_VALUE .. MIN_VALUE × GROWTH^BUCKETS (≈ 0.01 ms .. 180 s). */
const BUCKETS = 850;

export function bucketOf(v: number): number {
  if (!(v > MIN_VALUE)) return 0;
  const i = 1 + Math.floor(Math.log(v / MIN_VALUE) / LOG_GROWTH);
  return i >= BUCKETS ? BUCKETS - 1 : i;
}

/** The value a bucket stands for: the geometric middle of its bounds (0 for bucket 0). */
export function bucketValue(i: number): number {
  if (i <= 0) return 0;
  return MIN_VALUE * Math.pow(GROWTH, i - 0.5);
}

export class LogHistogram {
  readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  add(v: number): void {
    if (!Number.isFinite(v)) return;
    if (v < 0) v = 0;
    this.counts[bucketOf(v)]++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  merge(o: LogHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += o.counts[i];
    this.count += o.count;
    this.sum += o.sum;
    if (o.max > this.max) this.max = o.max;
  }

  clear(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  /** Nearest-rank quantile, q in [0, 1]; null when empty. Never above the largest value seen. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(bucketValue(i), this.max);
    }
    return this.max;
  }
}

export interface WindowSummary {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

export function summarise(h: LogHistogram): WindowSummary {
  const r2 = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
  return {
    count: h.count,
    mean: h.count ? r2(h.sum / h.count) : null,
    p50: r2(h.quantile(0.5)),
    p95: r2(h.quantile(0.95)),
    p99: r2(h.quantile(0.99)),
    p999: r2(h.quantile(0.999)),
    max: h.count ? r2(h.max) : null,
  };
}

/** One LogHistogram per second for the last `seconds` seconds. */
export class RollingWindow {
  private readonly slots: LogHistogram[];
  private readonly slotSecond: Float64Array;
  total = 0;

  constructor(
    readonly seconds = 300,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`RollingWindow: seconds must be a positive integer, got ${seconds}`);
    this.slots = Array.from({ length: seconds }, () => new LogHistogram());
    this.slotSecond = new Float64Array(seconds).fill(-1);
  }

  observe(v: number): void {
    const sec = Math.floor(this.now() / 1000);
    const i = sec % this.seconds;
    if (this.slotSecond[i] !== sec) {
      this.slots[i].clear();
      this.slotSecond[i] = sec;
    }
    this.slots[i].add(v);
    this.total++;
  }

  /** Everything observed in the last `lastSeconds` seconds (including the current one). */
  histogram(lastSeconds = this.seconds): LogHistogram {
    const out = new LogHistogram();
    const sec = Math.floor(this.now() / 1000);
    const from = sec - Math.min(lastSeconds, this.seconds) + 1;
    for (let i = 0; i < this.seconds; i++) {
      const s = this.slotSecond[i];
      if (s >= from && s <= sec) out.merge(this.slots[i]);
    }
    return out;
  }

  summary(lastSeconds?: number): WindowSummary {
    return summarise(this.histogram(lastSeconds));
  }
}
