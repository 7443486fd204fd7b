// The FFT correlation behind the echo canceller's fine delay search: its sums stay within the
// error bound it returns (the search relies on that to recheck only the lags it cannot rule out),
// and the bound is tight enough to rule out most lags.
import { describe, expect, it } from 'vitest';
import { Correlator } from '../../workers/correlate.ts';

/** Deterministic float32 noise with a copy of `a` buried in `b` at `lag`. */
function signals(seed: number, aLen: number, lags: number, lag: number): { a: Float32Array; b: Float32Array } {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const a = Float32Array.from({ length: aLen }, () => 0.3 * rnd());
  const b = Float32Array.from({ length: aLen + lags - 1 }, () => 0.05 * rnd());
  for (let k = 0; k < aLen; k++) b[k + lag] += 0.5 * a[k];
  return { a, b };
}

describe('Correlator', () => {
  it('matches the direct sums within its bound, and the bound separates the true lag from the rest', () => {
    const corr = new Correlator(2048);
    for (const [seed, lag] of [[1, 0], [2, 17], [3, 384], [4, 200]]) {
      const { a, b } = signals(seed, 1024, 385, lag);
      const out = new Float64Array(385);
      const err = corr.correlate(a, 1024, b, 385, out);
      let worst = 0;
      let best = -1;
      let bestC = -Infinity;
      let closeToBest = 0;
      const direct = new Float64Array(385);
      for (let s = 0; s < 385; s++) {
        let c = 0;
        for (let k = 0; k < 1024; k++) c += a[k] * b[k + s];
        direct[s] = c;
        worst = Math.max(worst, Math.abs(c - out[s]));
        if (c > bestC) {
          bestC = c;
          best = s;
        }
      }
      expect(best).toBe(lag);
      expect(worst).toBeLessThanOrEqual(err);
      // Lags whose bounds overlap the best one's: the search sums only these exactly.
      for (let s = 0; s < 385; s++) if (out[s] + err >= out[best] - err) closeToBest++;
      expect(closeToBest).toBeLessThan(10);
    }
  });

  it('refuses a correlation longer than its size', () => {
    expect(() => new Correlator(1024).correlate(new Float32Array(1024), 1024, new Float32Array(1408), 385, new Float64Array(385))).toThrow(/needs 1408/);
  });
});
