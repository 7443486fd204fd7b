// Rolling percentiles (engine/metrics/window.ts): precision of the log buckets against exact
// nearest-rank percentiles, and forgetting by time (a fake clock: no timing assertion).
import { describe, it, expect } from 'vitest';
import { LogHistogram, RollingWindow, bucketOf, bucketValue } from '../../engine/metrics/window.ts';
import { percentiles } from '../../bench/load/stats.ts';

describe('LogHistogram', () => {
  it('matches exact percentiles within the bucket width (2 %)', () => {
    const h = new LogHistogram();
    const values: number[] = [];
    let x = 7;
    for (let i = 0; i < 5000; i++) {
      x = (x * 48271) % 2147483647;
      const v = 0.05 + (x / 2147483647) ** 3 * 900; // skewed, like latencies
      values.push(v);
      h.add(v);
    }
    const exact = percentiles(values);
    for (const [q, e] of [[0.5, exact.p50], [0.95, exact.p95], [0.99, exact.p99]] as const) {
      const got = h.quantile(q)!;
      expect(Math.abs(got - e!) / e!).toBeLessThan(0.02);
    }
    expect(h.count).toBe(5000);
    expect(h.quantile(1)).toBeLessThanOrEqual(Math.max(...values));
  });

  it('is empty-safe and ignores non-finite values', () => {
    const h = new LogHistogram();
    expect(h.quantile(0.5)).toBeNull();
    h.add(Number.NaN);
    h.add(Infinity);
    expect(h.count).toBe(0);
    h.add(-3); // clamps to 0
    expect(h.quantile(0.5)).toBe(0);
  });

  it('buckets are monotonic and their values fall inside them', () => {
    let last = -1;
    for (const v of [0, 0.02, 0.5, 1, 3, 20, 300, 5000, 1e6]) {
      const b = bucketOf(v);
      expect(b).toBeGreaterThanOrEqual(last);
      last = b;
      if (v > 0.02 && v < 1e5) expect(Math.abs(bucketValue(b) - v) / v).toBeLessThan(0.02);
    }
  });
});

describe('RollingWindow', () => {
  it('keeps only the last N seconds', () => {
    let now = 1_000_000;
    const w = new RollingWindow(10, () => now);
    for (let i = 0; i < 100; i++) w.observe(500); // old, slow
    now += 20_000;
    for (let i = 0; i < 100; i++) w.observe(10);
    expect(w.summary().count).toBe(100);
    expect(w.summary().p99).toBeLessThan(11);
    now += 3000;
    w.observe(1000);
    expect(w.summary(2).count).toBe(1);
    expect(w.summary(10).count).toBe(101);
  });

  it('rejects a bad size', () => {
    expect(() => new RollingWindow(0)).toThrow(/positive integer/);
  });
});
