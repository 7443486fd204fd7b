// The echo canceller's output, band by band: which share of a frame's energy stands out of the
// echo left in it and the line's noise. A caller talking over the agent is often no louder than
// the echo left over the whole band (a quiet caller, a noisy line, a filter still converging),
// yet their voice fills bands the agent's syllable leaves nearly empty: the residual echo
// suppressor's view. Per band b (15 bands of 250 Hz from 250 Hz, below which the line holds hum
// and rumble more than voice; Hann window over the 20 ms frame):
//   echo in    X_b · H_b: the reference at the delay, the highest of this frame and the two before
//              (the echo path's tail, as the turn detector does full band), times the path's power
//              gain in the band (line over reference, learnt on the frames the canceller took for
//              echo alone, quick to rise and slow to fall);
//   echo left  E_b, the highest of: the canceller's own full-band rule band by band
//              (min(X_b H_b, K Ŷ_b) / ERLE, Ŷ_b the filter's echo estimate once it cancels,
//              workers/echo.ts step 4); what the band itself kept of its echo on echo-only frames
//              (its own ERLE⁻¹, smoothed: the residual's spectrum is not the estimate's); and the
//              echo no linear filter cancels (μ-law coding, the path's distortion), 33 dB under
//              the echo in, spread evenly;
//   noise      N_b, the output's floor, smoothed;
// and a band stands out when its output power R_b > 4 (E_b + N_b), 6 dB. The frame reports the
// share of its output energy in the bands that stand out (0 until the path is learnt).
import { Fft } from './fft.ts';

const FRAME = 160;
const N = 256;
const BANDS = 16;
const BINS = N / 2 / BANDS;
/** A band stands out of echo and noise by this power ratio (6 dB). */
const MARGIN = 4;
/** Echo-only frames the path's gains must be learnt on before a share is reported. */
const MIN_LEARNT = 10;
const PEAK_FRAMES = 3;
/** Below 250 Hz the line holds hum and rumble more than voice (the phone band starts at 300 Hz): left out. */
const FIRST_BAND = 1;
/**
 * The echo no linear filter cancels, relative to the echo in (−33 dB), spread evenly over the
 * bands: the μ-law coding of the echoed audio (about 38 dB SNR) and the path's distortion. On a
 * quiet line it is most of what is left, and it fills the bands the agent's voice leaves empty.
 */
const NONLINEAR = 10 ** -3.3;
const HANN = Float32Array.from({ length: FRAME }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / FRAME));

// Scratch shared by every call on the thread (a frame's analysis runs to completion).
const fft = new Fft(N);
const re = new Float32Array(N);
const im = new Float32Array(N);
const outBand = new Float64Array(BANDS);
const lineBand = new Float64Array(BANDS);
const estBand = new Float64Array(BANDS);
const refBand = new Float64Array(BANDS);
const echoInBand = new Float64Array(BANDS);

/** How the canceller stands on this frame (see EchoBands.analyse). */
export interface BandFrame {
  /** The canceller took the frame for echo alone (it adapted on it). */
  echoOnly: boolean;
  /** The frame was passed on as it came (the filter diverged): all of its echo is left. */
  passed: boolean;
  /** The filter's echo estimate stands for the echo (its ERLE reached 6 dB). */
  filterTrusted: boolean;
  /** The filter's smoothed ERLE (power ratio) and the margin on its own estimate. */
  erle: number;
  estimateK: number;
}

export class EchoBands {
  /** The echo path's power gain per band, and the echo-only frames it was learnt on. */
  private readonly gain = new Float64Array(BANDS);
  /** What each band kept of its echo on echo-only frames (its own ERLE⁻¹). */
  private readonly left = new Float64Array(BANDS).fill(1);
  private learnt = 0;
  private readonly noise = new Float64Array(BANDS);
  private noiseSet = false;
  /** The last PEAK_FRAMES reference and estimate powers per band (rings, frame-major). */
  private readonly refRing = new Float64Array(BANDS * PEAK_FRAMES);
  private readonly estRing = new Float64Array(BANDS * PEAK_FRAMES);
  private at = 0;

  /** Forget the echo path (a new delay, a reset filter): its gains are learnt again. */
  reset(): void {
    this.gain.fill(0);
    this.left.fill(1);
    this.learnt = 0;
    this.refRing.fill(0);
    this.estRing.fill(0);
  }

  /**
   * One frame: the line as it came (`line`, 160 samples), the canceller's output (`out[off..]`)
   * and the reference at the delay (`ref[refOff..]`, 160 samples in [−1, 1)). Returns the share
   * of the output's energy in bands standing out of echo and noise.
   */
  analyse(line: Int16Array, out: Int16Array, off: number, ref: Float64Array, refOff: number, f: BandFrame): number {
    // Output in the real part, the filter's echo estimate (line − output) in the imaginary part.
    for (let i = 0; i < FRAME; i++) {
      const r = out[off + i];
      re[i] = (HANN[i] * r) / 32768;
      im[i] = (HANN[i] * (line[i] - r)) / 32768;
    }
    re.fill(0, FRAME);
    im.fill(0, FRAME);
    fft.forward(re, im);
    outBand.fill(0);
    lineBand.fill(0);
    estBand.fill(0);
    for (let k = FIRST_BAND * BINS; k < N / 2; k++) {
      // Z = A + jB: A_k = (Z_k + Z*_{N−k})/2, B_k = (Z_k − Z*_{N−k})/2j; the line is A + B.
      const zr = re[k], zi = im[k], yr = re[N - k], yi = im[N - k];
      const ar = zr + yr, ai = zi - yi, br = zi + yi, bi = yr - zr;
      const b = (k / BINS) | 0;
      outBand[b] += 0.25 * (ar * ar + ai * ai);
      estBand[b] += 0.25 * (br * br + bi * bi);
      lineBand[b] += 0.25 * ((ar + br) ** 2 + (ai + bi) ** 2);
    }
    for (let i = 0; i < FRAME; i++) {
      re[i] = HANN[i] * ref[refOff + i];
      im[i] = 0;
    }
    re.fill(0, FRAME);
    im.fill(0, FRAME);
    fft.forward(re, im);
    refBand.fill(0);
    for (let k = FIRST_BAND * BINS; k < N / 2; k++) refBand[(k / BINS) | 0] += re[k] * re[k] + im[k] * im[k];
    const slot = (this.at++ % PEAK_FRAMES) * BANDS;
    this.refRing.set(refBand, slot);
    this.estRing.set(estBand, slot);
    if (!this.noiseSet) {
      this.noise.set(outBand);
      this.noiseSet = true;
    }
    const erle = f.passed ? 1 : f.erle;
    // The echo as the line holds it, band by band (the path's gain × the reference) and in all.
    let echoIn = 0;
    for (let b = FIRST_BAND; b < BANDS; b++) {
      let x = 0;
      for (let p = 0; p < PEAK_FRAMES; p++) x = Math.max(x, this.refRing[p * BANDS + b]);
      if (f.echoOnly && x > 1e-9) {
        const g = Math.max(0, lineBand[b] - this.noise[b]) / x;
        this.gain[b] += (g > this.gain[b] ? 0.2 : 0.05) * (g - this.gain[b]);
      }
      echoInBand[b] = this.gain[b] * x;
      echoIn += echoInBand[b];
    }
    const floor = (NONLINEAR * echoIn) / (BANDS - FIRST_BAND);
    let total = 0;
    let standing = 0;
    for (let b = FIRST_BAND; b < BANDS; b++) {
      const nb = this.noise[b];
      const ein = echoInBand[b];
      let y = 0;
      for (let p = 0; p < PEAK_FRAMES; p++) y = Math.max(y, this.estRing[p * BANDS + b]);
      const echo = f.filterTrusted && !f.passed ? Math.min(ein, f.estimateK * y) : ein;
      // What the band keeps of its echo on echo-only frames (its own ERLE⁻¹), smoothed.
      if (f.echoOnly && ein > 1e-12) this.left[b] += 0.1 * (Math.min(1, Math.max(0, outBand[b] - nb) / ein) - this.left[b]);
      const masker = Math.max(echo / erle, floor, this.left[b] * ein) + nb;
      const r = outBand[b];
      total += r;
      if (r > MARGIN * masker) standing += r;
      // The output's floor, smoothed (the minimum of a few bins sits far under their mean): quick
      // down, up with what does not stand out, a slow creep under what does.
      this.noise[b] = r < nb ? nb + 0.3 * (r - nb) : r < MARGIN * masker ? nb + 0.05 * (r - nb) : nb * 1.01;
    }
    if (f.echoOnly) this.learnt++;
    return this.learnt < MIN_LEARNT || total <= 0 ? 0 : standing / total;
  }
}
