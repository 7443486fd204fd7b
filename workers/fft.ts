// In-place iterative radix-2 complex FFT on split real/imaginary Float32Arrays. Twiddles and
// the bit-reversal permutation are built once per size, so a transform allocates nothing.

export class Fft {
  readonly size: number;
  private readonly rev: Uint16Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 2 || (size & (size - 1)) !== 0 || size > 65536) {
      throw new RangeError(`FFT size must be a power of two in 2..65536, got ${size}`);
    }
    this.size = size;
    const bits = Math.log2(size);
    this.rev = new Uint16Array(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    this.cos = new Float64Array(size / 2);
    this.sin = new Float64Array(size / 2);
    for (let i = 0; i < size / 2; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / size);
      this.sin[i] = -Math.sin((2 * Math.PI * i) / size);
    }
  }

  /** Forward transform (e^{-jωt}), unscaled. */
  forward(re: Float32Array, im: Float32Array): void {
    const n = this.size;
    const rev = this.rev;
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) {
        let t = re[i]; re[i] = re[j]; re[j] = t;
        t = im[i]; im[i] = im[j]; im[j] = t;
      }
    }
    // First stage (len 2) has the trivial twiddle 1.
    for (let a = 0; a < n; a += 2) {
      const b = a + 1;
      const xr = re[b];
      const xi = im[b];
      re[b] = re[a] - xr;
      im[b] = im[a] - xi;
      re[a] += xr;
      im[a] += xi;
    }
    const cos = this.cos;
    const sin = this.sin;
    for (let len = 4; len <= n; len <<= 1) {
      const half = len >> 1;
      const step = n / len;
      for (let k = 0, t = 0; k < half; k++, t += step) {
        const wr = cos[t];
        const wi = sin[t];
        for (let a = k; a < n; a += len) {
          const b = a + half;
          const rb = re[b];
          const ib = im[b];
          const xr = rb * wr - ib * wi;
          const xi = rb * wi + ib * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }

  /** Inverse transform, scaled by 1/n (conjugate, forward, conjugate). */
  inverse(re: Float32Array, im: Float32Array): void {
    const n = this.size;
    for (let i = 0; i < n; i++) im[i] = -im[i];
    this.forward(re, im);
    const s = 1 / n;
    for (let i = 0; i < n; i++) {
      re[i] *= s;
      im[i] = -im[i] * s;
    }
  }
}
