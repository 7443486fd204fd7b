// Exact percentiles over collected samples (the load generator keeps every turn's numbers),
// nearest-rank as in engine/metrics/window.ts, so p99.9 needs ≥ 1000 samples to mean much.
export interface Percentiles {
  n: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

export function quantileSorted(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1];
}

export function percentiles(values: Iterable<number>): Percentiles {
  const v = Float64Array.from([...values].filter((x) => Number.isFinite(x))).sort();
  const r = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  let sum = 0;
  for (const x of v) sum += x;
  return {
    n: v.length,
    mean: v.length ? r(sum / v.length) : null,
    p50: r(quantileSorted(v, 0.5)),
    p95: r(quantileSorted(v, 0.95)),
    p99: r(quantileSorted(v, 0.99)),
    p999: r(quantileSorted(v, 0.999)),
    max: v.length ? r(v[v.length - 1]) : null,
  };
}

/** a / b, rounded, or null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined, digits = 2): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  const f = 10 ** digits;
  return Math.round((a / b) * f) / f;
}
