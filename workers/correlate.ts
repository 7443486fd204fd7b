// Cross-correlation of two real signals through one complex FFT each way (a in the real part, b in
// the imaginary part), with a bound on its float32 rounding error so a caller can find the exact
// best lag by rechecking only the lags the bound cannot rule out.
import { Fft } from './fft.ts';

/** float32 unit roundoff. */
const U = 2 ** -24;

export class Correlator {
  readonly size: number;
  private readonly fft: Fft;
  private readonly re: Float32Array;
  private readonly im: Float32Array;

  constructor(size: number) {
    this.fft = new Fft(size);
    this.size = size;
    this.re = new Float32Array(size);
    this.im = new Float32Array(size);
  }

  /**
   * out[s] ≈ Σ_{k<aLen} a[k]·b[k+s] for s < nOut, where b holds aLen + nOut − 1 samples
   * (≤ size). Returns a bound on |out[s] − exact| (Higham's FFT error bound carried through the
   * spectrum product, doubled), assuming a and b are float32 values.
   */
  correlate(a: ArrayLike<number>, aLen: number, b: ArrayLike<number>, nOut: number, out: Float64Array): number {
    const n = this.size;
    const bLen = aLen + nOut - 1;
    if (bLen > n) throw new RangeError(`correlation of ${aLen} over ${nOut} lags needs ${bLen} > ${n} points`);
    const re = this.re;
    const im = this.im;
    let a1 = 0;
    let a2 = 0;
    let b1 = 0;
    let b2 = 0;
    for (let k = 0; k < n; k++) {
      const x = k < aLen ? a[k] : 0;
      const y = k < bLen ? b[k] : 0;
      re[k] = x;
      im[k] = y;
      a1 += Math.abs(x);
      a2 += x * x;
      b1 += Math.abs(y);
      b2 += y * y;
    }
    this.fft.forward(re, im);
    // Z = A + jB with A, B the spectra of a and b: A_k = (Z_k + Z*_{n−k})/2, B_k = (Z_k − Z*_{n−k})/2j.
    // The correlation's spectrum is conj(A)·B, conjugate-symmetric (real result).
    for (let k = 0; k <= n / 2; k++) {
      const j = (n - k) & (n - 1);
      const zr = re[k];
      const zi = im[k];
      const yr = re[j];
      const yi = im[j];
      const ar = (zr + yr) / 2;
      const ai = (zi - yi) / 2;
      const br = (zi + yi) / 2;
      const bi = (yr - zr) / 2;
      const pr = ar * br + ai * bi;
      const pi = ar * bi - ai * br;
      re[k] = pr;
      im[k] = pi;
      re[j] = pr;
      im[j] = -pi;
    }
    this.fft.inverse(re, im);
    for (let s = 0; s < nOut; s++) out[s] = re[s];
    // Each transform: ‖Δ‖₂ ≤ log2(n)·η·‖x‖₂, η ≈ 4√2·u (Higham, Accuracy and Stability, thm 24.2);
    // |A_k| ≤ ‖a‖₁, |B_k| ≤ ‖b‖₁; the inverse's 1/n cancels the transforms' √n gains.
    const rho = Math.log2(n) * 4 * Math.SQRT2 * U * 1.01;
    const s2 = Math.sqrt(a2 + b2);
    return 2 * rho * (s2 * (a1 + b1) + a1 * Math.sqrt(b2) + Math.sqrt(a2) * b1) + 1e-30;
  }
}
