// Echo cancellation on the 8 kHz line, per call, on its DSP shard. Twilio does not cancel echo on
// Media Streams, so a speakerphone or a poor hybrid sends the agent's own voice back. The engine
// knows what it sent: every agent audio chunk is queued here as the reference, in the order and
// at the inbound frame it was sent, and plays out at 160 samples per inbound frame (as Twilio's
// buffer does), so the reference timeline is aligned with the inbound one up to a fixed delay
// (network both ways, Twilio's buffer, the echo path).
//
//   1. Delay: normalised cross-correlation of 4 ms amplitude envelopes, mic vs reference, over
//      lags 0..MAX_DELAY_MS, re-estimated every 100 ms while the reference plays.
//   2. NLMS, 128 taps (16 ms) around that delay, on the μ-law-decoded reference, adapting on the
//      pre-whitened signals (both through the reference's LPC inverse filter, order 8): speech is
//      strongly coloured and plain NLMS on it converged to about 10 dB in the half second a
//      caller may leave before talking over the agent; whitened, it reaches 20–35 dB on a clean
//      line. Two filters (foreground/background, as in Speex's MDF): the background adapts, the
//      foreground takes its weights only when they left less of the line, frame before frame, so
//      a caller who slips past the double-talk test and drags the background off does not take
//      the cancellation (and the echo estimate) with them.
//   3. Double talk: a frame more than 6 dB above the echo the line can hold (the envelope fit's
//      ERL × the loudest reference around the delay) is the caller talking; the filter freezes.
//      A quieter caller shows when adapting makes the frame worse: that frame's updates are
//      undone and the filter freezes too.
//   4. The frame reports the echo level left in its residual (`echoDb`): the echo the line can
//      hold (once the filter cancels 6 dB or more, its own echo estimate for the frame ×2 when
//      lower: the bound is the loudest reference within ±20 ms), less the filter's measured ERLE;
//      with no delay yet, the loudest recent reference (the echo cannot be louder than 0 dB ERL),
//      and once the reference has played long enough for any echo to show without one
//      correlating, the line's noise level. The turn detector uses it to tell the agent's voice
//      from the caller's.
//   5. The output band by band (workers/echo-bands.ts, once a delay is known): the share of the
//      frame's energy in bands standing out of the echo left there and the noise (`echoShare`),
//      for a caller who does not stand out of the echo over the whole band.
// With no reference playing, the canceller costs one comparison a frame.
import { ULAW_TO_PCM } from '../adapters/kit/ulaw.ts';
import { Correlator } from './correlate.ts';
import { EchoBands, type BandFrame } from './echo-bands.ts';

const FRAME = 160;
const BLOCK = 32; // 4 ms envelope blocks
const BLOCKS_PER_FRAME = FRAME / BLOCK;
const TAPS = 128;
/** Taps before the estimated delay (the direct path may not be the strongest tap). */
const LEAD = 24;
/** The fine search: sample lags within ±FINE of the envelope's estimate, over the last FINE_WINDOW samples. */
const FINE = 192;
const FINE_WINDOW = 1024;
export const MAX_DELAY_MS = 600;
const MAX_LAG_BLOCKS = (MAX_DELAY_MS * 8) / BLOCK;
/** Envelope window correlated for the delay (800 ms). */
const WINDOW_BLOCKS = 200;
const ENV_RING = 1024; // blocks (4 s), power of two
const MIN_OVERLAP_BLOCKS = 75;
const REF_RING = 8192; // samples (1.02 s), power of two: ≥ max delay + taps
const SILENCE_DB = -100;
const MU = 0.3;
/** NLMS regularisation: a reference quieter than −50 dBFS barely moves the filter (the line's noise would). */
const DELTA = TAPS * 1e-5;

/** The filter's own echo estimate is used once its ERLE reaches this (6 dB), times ESTIMATE_K (3 dB of margin). */
const ESTIMATE_ERLE = 4;
const ESTIMATE_K = 2;
/** Order of the pre-whitening LPC filter (see whiten). */
const LPC_ORDER = 8;
/** Gaussian lag window (60 Hz at 8 kHz) for the LPC autocorrelation. */
const LAG_WINDOW = Float64Array.from({ length: LPC_ORDER + 1 }, (_, k) => Math.exp(-0.5 * ((2 * Math.PI * 60 * k) / 8000) ** 2));
/** NLMS regularisation on the whitened reference (whitening takes 10-20 dB off its power). */
const DELTA_W = TAPS * 1e-6;

/** μ-law byte → sample in [−1, 1) (exact: the 16-bit value / 2^15). */
const ULAW_UNIT = Float64Array.from(ULAW_TO_PCM, (v) => v / 32768);

const toDb = (power: number): number => (power <= 1e-10 ? SILENCE_DB : Math.max(SILENCE_DB, 10 * Math.log10(power)));

export interface EchoFrameInfo {
  /** Echo level still in the output frame, dBFS (SILENCE when no reference is near). */
  echoDb: number;
  /** Share of the output frame's energy in bands standing out of the echo left and the noise (workers/echo-bands.ts; 0 when unknown). */
  echoShare: number;
  /** The reference is playing or its echo may still be arriving. */
  active: boolean;
}

export class EchoCanceller {
  /** μ-law bytes sent to the caller and not yet played (by the model of Twilio's buffer). */
  private fifo = new Uint8Array(8000);
  private fifoHead = 0;
  private fifoLen = 0;
  private readonly ref = new Float32Array(REF_RING);
  /** The line's samples as they came in (for the fine delay search). */
  private readonly mic = new Float32Array(REF_RING);
  private readonly micEnv = new Float32Array(ENV_RING);
  private readonly refEnv = new Float32Array(ENV_RING);
  /** NLMS weights, float32 values (Math.fround on update) held as float64 for cheaper reads. */
  private readonly w = new Float64Array(TAPS);
  /** The foreground filter's weights (see process, step 3). */
  private readonly wf = new Float64Array(TAPS);
  /** Smoothed a-priori residual energies of the background and the foreground filter. */
  private sB = 0;
  private sF = 0;
  /** Absolute sample index of the next inbound sample. */
  private n = 0;
  private lastRefAt = -Infinity;
  /** Bulk delay (samples) and its confidence; -1 while unknown. */
  delay = -1;
  private confidence = 0;
  /** First envelope block of the current stretch of reference (since the canceller went active). */
  private refStartBlock = 0;
  private wasActive = false;
  /** The last coarse delay seen while none is adopted yet. */
  private firstCoarse = -1;
  /** A different delay seen once while the filter worked (it must be seen again to be taken). */
  private pendingDelay = -1;
  /** The envelope's delay estimate the current fine delay came from. */
  private coarse = -1;
  /** Amplitude ratio mic/reference at the delay (√ERL), from the envelope fit. */
  private erlAmp = 1;
  /** Smoothed ERLE (power ratio, linear). */
  private erle = 1;
  private sinceEstimate = 0;
  /** The line's noise power per sample (tracked: fast down, slow up). */
  private noisePow = 1;
  private doubleTalkHold = 0;
  /** Frames in a row the foreground made the line worse while the background did not take over. */
  private divergent = 0;
  /** The filter's residual for the current frame, frozen (e0) and adapting (eA); the weights before the frame. */
  private readonly e0 = new Float32Array(FRAME);
  private readonly eA = new Float32Array(FRAME);
  private readonly eB = new Float32Array(FRAME);
  private readonly wPrev = new Float64Array(TAPS);
  /** The reference under the filter for the current frame, contiguous (see process). */
  private readonly seg = new Float64Array(FRAME + TAPS);
  /** The same and the frame's line samples, pre-whitened (see whiten); the LPC analysis state. */
  private readonly segW = new Float64Array(FRAME + TAPS);
  private readonly micW = new Float64Array(FRAME);
  private readonly lpcR = new Float64Array(LPC_ORDER + 1);
  private readonly lpcA = new Float64Array(LPC_ORDER + 1);
  private readonly lpcTmp = new Float64Array(LPC_ORDER + 1);
  /** The residual band by band (step 5), and the frame's line as it came. */
  private readonly bands = new EchoBands();
  private readonly bandFrame: BandFrame = { echoOnly: false, passed: false, filterTrusted: false, erle: 1, estimateK: ESTIMATE_K };
  private readonly lineSeg = new Int16Array(FRAME);
  framesActive = 0;
  /** Test/diagnostics: frames the filter adapted on, frames flagged double talk, frames whose updates were undone, and restarts from zero. */
  adapted = 0;
  doubleTalk = 0;
  undone = 0;
  resets = 0;
  /** Test/diagnostics: background weights taken by the foreground, and background restarts from the foreground. */
  copies = 0;
  restarts = 0;

  /** Agent audio that was just sent: it plays after what is already queued. */
  queue(ulaw: Uint8Array): void {
    if (ulaw.length === 0) return;
    if (this.fifoLen + ulaw.length > this.fifo.length) {
      let cap = this.fifo.length * 2;
      while (cap < this.fifoLen + ulaw.length) cap *= 2;
      const grown = new Uint8Array(cap);
      for (let i = 0; i < this.fifoLen; i++) grown[i] = this.fifo[(this.fifoHead + i) % this.fifo.length];
      this.fifo = grown;
      this.fifoHead = 0;
    }
    const cap = this.fifo.length;
    for (let i = 0; i < ulaw.length; i++) this.fifo[(this.fifoHead + this.fifoLen + i) % cap] = ulaw[i];
    this.fifoLen += ulaw.length;
  }

  /** Playback was cleared: nothing queued plays any more (what already played still echoes). */
  clear(): void {
    this.fifoHead = 0;
    this.fifoLen = 0;
  }

  get active(): boolean {
    return this.fifoLen > 0 || this.n - this.lastRefAt < (MAX_DELAY_MS * 8 + TAPS + FRAME);
  }

  /**
   * Cancels the echo in the 160 samples at `pcm[off..]` in place. Call once per inbound frame,
   * in order: each call also plays the next 160 reference samples.
   */
  process(pcm: Int16Array, off: number, out: EchoFrameInfo): void {
    const n0 = this.n;
    // 1. The reference that plays during this frame.
    let refPow = 0;
    const fifo = this.fifo;
    const cap = fifo.length;
    let head = this.fifoHead;
    let len = this.fifoLen;
    for (let i = 0; i < FRAME; i++) {
      let v = 0;
      if (len > 0) {
        v = ULAW_UNIT[fifo[head]];
        if (++head === cap) head = 0;
        len--;
      }
      this.ref[(n0 + i) & (REF_RING - 1)] = v;
      refPow += v * v;
    }
    this.fifoHead = head;
    this.fifoLen = len;
    if (refPow > 1e-9) {
      // A new stretch of reference after an inactive spell (the FIFO may already hold it).
      if (!this.wasActive) this.refStartBlock = n0 / BLOCK;
      this.lastRefAt = n0 + FRAME - 1;
    }
    this.wasActive = this.active;
    if (!this.wasActive) {
      this.n += FRAME;
      this.delay = -1;
      this.firstCoarse = -1;
      this.doubleTalkHold = 0;
      this.erle = 1;
      this.bands.reset();
      this.w.fill(0);
      this.wf.fill(0);
      this.sB = this.sF = 0;
      out.echoDb = SILENCE_DB;
      out.echoShare = 0;
      out.active = false;
      return;
    }
    this.framesActive++;
    for (let i = 0; i < FRAME; i++) this.mic[(n0 + i) & (REF_RING - 1)] = pcm[off + i] / 32768;
    this.lineSeg.set(pcm.subarray(off, off + FRAME));
    // 2. Envelopes (4 ms blocks) for the delay estimate.
    const b0 = n0 / BLOCK;
    for (let k = 0; k < BLOCKS_PER_FRAME; k++) {
      let m = 0;
      let r = 0;
      for (let i = 0; i < BLOCK; i++) {
        const d = pcm[off + k * BLOCK + i] / 32768;
        const x = this.ref[(n0 + k * BLOCK + i) & (REF_RING - 1)];
        m += d * d;
        r += x * x;
      }
      this.micEnv[(b0 + k) & (ENV_RING - 1)] = Math.sqrt(m / BLOCK);
      this.refEnv[(b0 + k) & (ENV_RING - 1)] = Math.sqrt(r / BLOCK);
    }
    this.n += FRAME;
    // The delay is re-estimated on echo alone: the caller's voice would pull it off. But while the
    // filter cancels nothing (ERLE under 3 dB) there is nothing to protect, and a wrong delay
    // (found by chance before the echo arrived) makes every frame look like double talk, which
    // would otherwise keep it for good.
    if (++this.sinceEstimate >= 5 && (this.doubleTalkHold === 0 || this.erle < 2)) {
      this.sinceEstimate = 0;
      this.estimateDelay(b0 + BLOCKS_PER_FRAME);
    }
    // 3. NLMS on the frame.
    let micPow = 0;
    let resPow = 0;
    let expected = 0;
    let passed = false;
    let echoOnly = false;
    let yPow = 0;
    for (let i = 0; i < FRAME; i++) {
      const d = pcm[off + i] / 32768;
      micPow += d * d;
    }
    this.noisePow = Math.min(this.noisePow * 1.01, Math.max(micPow / FRAME, 1e-10));
    if (this.delay >= 0) {
      const base = this.delay - LEAD;
      const w = this.w;
      // The reference under the filter for this frame, contiguous: x[i + TAPS - 1 - j] is the
      // ring's sample (n0 + i - base - j). Masked ring reads in the 128-tap loops cost more than
      // the filtering itself; the values and summation order are the ring's, so results are too.
      const x = this.seg;
      const from = n0 - base - TAPS + 1;
      for (let m = 0; m < FRAME + TAPS - 1; m++) x[m] = this.ref[(from + m) & (REF_RING - 1)];
      // The echo this frame can hold: ERL × the loudest reference power around the delay (±20 ms,
      // the impulse response's spread), per sample.
      expected = this.erlAmp * this.erlAmp * this.refPowerAround(n0 - this.delay);
      // Double talk: the line is more than 6 dB above the echo it can hold. The test does not
      // depend on the filter, so a filter that is still poor cannot lock itself out of adapting.
      // A caller quieter than that is caught below, by what adapting on them does to the frame.
      const doubleTalk = micPow / FRAME > 4 * expected + 1e-8;
      if (doubleTalk) this.doubleTalkHold = 3;
      else if (this.doubleTalkHold > 0) this.doubleTalkHold--;
      if (this.doubleTalkHold > 0) this.doubleTalk++;
      // Adapt on echo alone, and only where the echo stands 6 dB out of the line's noise: on noise
      // the filter would learn the noise.
      let adapt = this.doubleTalkHold === 0 && expected > 4 * this.noisePow && expected > 1e-8;
      // What the filter as it stood before the frame leaves of it (e0, res0): needed when it does
      // not adapt, and when adapting looks bad (computed then from the saved weights).
      // Two filters (the two-path structure of Speex's MDF and of Ochiai's canceller): the
      // background `w` adapts whenever the tests above allow; the foreground `wf` takes the
      // background's weights only once those have left less of the line than its own, frame
      // before frame, over the last frames (a-priori residuals: the caller's voice, unpredictable
      // from the reference, weighs the same in both). A caller the double-talk tests miss (at or
      // under the echo's level) drags the background off; the foreground holds (and with it the
      // echo estimate), and the background restarts from it once clearly worse.
      const resF = this.frozenResidual(this.wf, pcm, off, this.e0);
      // The foreground's echo estimate for the frame (its output, ŷ = line − residual), per sample.
      for (let i = 0; i < FRAME; i++) {
        const yv = pcm[off + i] / 32768 - this.e0[i];
        yPow += yv * yv;
      }
      yPow /= FRAME;
      let useBackground = false;
      if (adapt) {
        const resB0 = this.frozenResidual(w, pcm, off, this.eB);
        this.sB = 0.5 * this.sB + resB0;
        this.sF = 0.5 * this.sF + resF;
        // Adapt on the pre-whitened signals (see whiten): speech is strongly coloured, and NLMS on
        // it converges along its loud formants only, slowly elsewhere. The filter learnt on the
        // whitened reference and line is the one that cancels the raw signals (the echo path is
        // linear, and both went through the same A(z)); the frame is cancelled with it as it
        // adapts, sample by sample, on the raw reference.
        this.whiten(n0, base, pcm, off);
        const xw = this.segW;
        const dw = this.micW;
        this.wPrev.set(w);
        let xPow = 0;
        for (let j = 0; j < TAPS; j++) {
          const v = xw[TAPS - 1 - j];
          xPow += v * v;
        }
        const eA = this.eA;
        let resA = 0;
        // Each sample's weight update and the next sample's filter outputs (whitened and raw)
        // share one pass over the taps (the outputs read the updated weights).
        let y = 0;
        let yr = 0;
        for (let j = 0; j < TAPS; j++) {
          y += w[j] * xw[TAPS - 1 - j];
          yr += w[j] * x[TAPS - 1 - j];
        }
        for (let i = 0; i < FRAME; i++) {
          const t = i + TAPS - 1;
          if (i > 0) {
            const xin = xw[t];
            const xout = xw[t - TAPS];
            xPow += xin * xin - xout * xout;
          }
          const e = dw[i] - y;
          const er = pcm[off + i] / 32768 - yr;
          const g = (MU * e) / (xPow + DELTA_W);
          let next = 0;
          let nextR = 0;
          let xPrev = xw[t + 1]; // past the segment on the last sample: next is unused then
          let xrPrev = x[t + 1];
          for (let j = 0; j < TAPS; j++) {
            const xj = xw[t - j];
            const wj = Math.fround(w[j] + g * xj);
            w[j] = wj;
            next += wj * xPrev;
            nextR += wj * xrPrev;
            xPrev = xj;
            xrPrev = x[t - j];
          }
          y = next;
          yr = nextR;
          eA[i] = er;
          resA += er * er;
        }
        if (resA > 1.25 * micPow && resA > resB0) {
          // Adapting made this frame worse: something other than echo was on it (double talk the
          // tests missed). Undo the frame's updates and hold adaptation, as for double talk.
          w.set(this.wPrev);
          adapt = false;
          this.undone++;
          this.doubleTalkHold = 3;
        } else {
          this.adapted++;
          // The background is trusted with the frame while it did at least as well as the
          // foreground (then the frame is cancelled as it adapts, sample by sample).
          useBackground = this.sB <= this.sF;
          if (useBackground) resPow = resA;
        }
        if (this.sB < 0.9 * this.sF) {
          this.wf.set(this.wPrev);
          this.sF = this.sB;
          this.copies++;
        } else if (this.sB > 4 * this.sF && this.sF > 0) {
          // The background went astray (it adapted on the caller): start it again from the foreground.
          w.set(this.wf);
          this.sB = this.sF;
          this.restarts++;
        }
      }
      if (useBackground) {
        const eA = this.eA;
        for (let i = 0; i < FRAME; i++) pcm[off + i] = clamp16(eA[i] * 32768);
        this.divergent = 0;
      } else if (this.doubleTalkHold === 0 && resF > 1.25 * micPow && resF > 1e-7 * FRAME) {
        // Divergence (the foreground adds more than it removes): keep the line as it was (and
        // report all of its echo), and start over when it happens twice in a row (once comes with
        // the line's noise alone, between two syllables).
        resPow = micPow;
        passed = true;
        if (++this.divergent >= 2) {
          w.fill(0);
          this.wf.fill(0);
          this.sB = this.sF = 0;
          this.erle = 1;
          this.bands.reset();
          this.resets++;
          this.divergent = 0;
        }
      } else {
        this.divergent = 0;
        resPow = resF;
        const e0 = this.e0;
        for (let i = 0; i < FRAME; i++) pcm[off + i] = clamp16(e0[i] * 32768);
      }
      echoOnly = adapt;
      if (adapt && micPow > 1e-7 * FRAME) {
        // ERLE over echo-only frames, smoothed (power ratio).
        const r = micPow / Math.max(resPow, 1e-12);
        this.erle += 0.05 * (Math.min(r, 1000) - this.erle);
        if (this.erle < 1) this.erle = 1;
      }
    }
    // 4. The echo left in the output: what the line can hold, less what the filter removes.
    // (A frame passed on as it came holds all of its echo.)
    if (this.delay >= 0) {
      // Once the filter cancels well (ERLE ≥ ESTIMATE_ERLE), its own echo estimate for the frame
      // (×2) stands for the echo on the line when lower than the bound: the bound is the loudest
      // reference within ±20 ms, many dB over the echo between two syllables.
      const echo = !passed && this.erle >= ESTIMATE_ERLE ? Math.min(expected, ESTIMATE_K * yPow) : expected;
      out.echoDb = toDb(passed ? expected : echo / this.erle);
      // 5. The output band by band (seg[TAPS − 1 − LEAD + i] is the reference at the delay for sample i).
      const bf = this.bandFrame;
      bf.echoOnly = echoOnly && !passed;
      bf.passed = passed;
      bf.filterTrusted = this.erle >= ESTIMATE_ERLE;
      bf.erle = this.erle;
      out.echoShare = this.bands.analyse(this.lineSeg, pcm, off, this.seg, TAPS - 1 - LEAD, bf);
    }
    else if (this.n / BLOCK - this.refStartBlock > MAX_LAG_BLOCKS + MIN_OVERLAP_BLOCKS + 25) {
      // The reference has played long enough for any echo to show, and none correlates: whatever
      // echo there is stays under the line's noise.
      out.echoDb = toDb(this.noisePow);
    } else out.echoDb = toDb(this.loudestRecentRef());
    if (this.delay < 0) out.echoShare = 0;
    out.active = true;
  }

  /**
   * The reference under the filter (seg, with the LPC_ORDER samples before it) and the frame's line
   * samples through the reference's LPC inverse filter A(z) (order LPC_ORDER, from the
   * autocorrelation of the reference under the filter, smoothed over frames) into segW and micW.
   * Both go through the same A(z), so the echo path between them is unchanged.
   */
  private whiten(n0: number, base: number, pcm: Int16Array, off: number): void {
    const mask = REF_RING - 1;
    const x = this.seg;
    const L = FRAME + TAPS - 1;
    const r = this.lpcR;
    for (let k = 0; k <= LPC_ORDER; k++) {
      let acc = 0;
      for (let m = k; m < L; m++) acc += x[m] * x[m - k];
      r[k] = 0.5 * r[k] + 0.5 * acc;
    }
    const a = this.lpcA;
    a.fill(0);
    a[0] = 1;
    if (r[0] > 1e-9) {
      // Levinson-Durbin, with a little white noise added (r[0] × 1.001) and a lag window, so the
      // inverse filter stays mild on near-periodic frames.
      let err = r[0] * 1.001;
      const tmp = this.lpcTmp;
      for (let i = 1; i <= LPC_ORDER; i++) {
        let acc = r[i] * LAG_WINDOW[i];
        for (let j = 1; j < i; j++) acc += a[j] * r[i - j] * LAG_WINDOW[i - j];
        const k = -acc / err;
        for (let j = 1; j < i; j++) tmp[j] = a[j] + k * a[i - j];
        for (let j = 1; j < i; j++) a[j] = tmp[j];
        a[i] = k;
        err *= 1 - k * k;
        if (err <= 0) break;
      }
    }
    // The LPC_ORDER reference samples before the segment (ring index of seg[0] is n0 - base - TAPS + 1).
    const from = n0 - base - TAPS + 1;
    const xw = this.segW;
    for (let m = 0; m < L; m++) {
      let acc = x[m];
      for (let k = 1; k <= LPC_ORDER; k++) acc += a[k] * (m - k >= 0 ? x[m - k] : this.ref[(from + m - k) & mask]);
      xw[m] = acc;
    }
    const dw = this.micW;
    for (let i = 0; i < FRAME; i++) {
      let acc = pcm[off + i] / 32768;
      for (let k = 1; k <= LPC_ORDER; k++) acc += a[k] * (i - k >= 0 ? pcm[off + i - k] / 32768 : this.mic[(n0 + i - k) & mask]);
      dw[i] = acc;
    }
  }

  /** The residual of `pcm[off..]` under the filter `w` without adapting (into `e0`), and its power. */
  private frozenResidual(w: Float64Array, pcm: Int16Array, off: number, e0: Float32Array): number {
    const x = this.seg;
    let res = 0;
    // Four outputs at a time, each summed over the taps in order as one at a time would: a weight
    // and one new reference sample loaded per tap instead of a pair per output.
    for (let i = 0; i < FRAME; i += 4) {
      const t = i + TAPS - 1;
      let y0 = 0;
      let y1 = 0;
      let y2 = 0;
      let y3 = 0;
      let x0 = x[t];
      let x1 = x[t + 1];
      let x2 = x[t + 2];
      let x3 = x[t + 3];
      for (let j = 0; j < TAPS - 1; j++) {
        const wj = w[j];
        y0 += wj * x0;
        y1 += wj * x1;
        y2 += wj * x2;
        y3 += wj * x3;
        x3 = x2;
        x2 = x1;
        x1 = x0;
        x0 = x[t - j - 1];
      }
      const wl = w[TAPS - 1]; // the last tap: no sample before the segment to load
      y0 += wl * x0;
      y1 += wl * x1;
      y2 += wl * x2;
      y3 += wl * x3;
      const e0v = pcm[off + i] / 32768 - y0;
      const e1v = pcm[off + i + 1] / 32768 - y1;
      const e2v = pcm[off + i + 2] / 32768 - y2;
      const e3v = pcm[off + i + 3] / 32768 - y3;
      e0[i] = e0v;
      e0[i + 1] = e1v;
      e0[i + 2] = e2v;
      e0[i + 3] = e3v;
      res += e0v * e0v;
      res += e1v * e1v;
      res += e2v * e2v;
      res += e3v * e3v;
    }
    return res;
  }

  /** Loudest 20 ms reference power (per sample) within ±20 ms of sample `at`. */
  private refPowerAround(at: number): number {
    const mask = ENV_RING - 1;
    const b = Math.floor(at / BLOCK);
    let best = 0;
    for (let k = -5; k <= 5; k++) {
      let p = 0;
      for (let j = 0; j < BLOCKS_PER_FRAME; j++) {
        const a = this.refEnv[(b + k + j - BLOCKS_PER_FRAME + 1) & mask];
        p += a * a;
      }
      if (p > best) best = p;
    }
    return best / BLOCKS_PER_FRAME;
  }

  /** Mean power of the loudest 20 ms of reference within the delay range (no delay known yet). */
  private loudestRecentRef(): number {
    const end = this.n / BLOCK;
    let best = 0;
    for (let b = end - MAX_LAG_BLOCKS; b < end; b += BLOCKS_PER_FRAME) {
      let p = 0;
      for (let k = 0; k < BLOCKS_PER_FRAME; k++) {
        const a = this.refEnv[(b + k) & (ENV_RING - 1)];
        p += a * a;
      }
      if (p > best) best = p;
    }
    return best / BLOCKS_PER_FRAME;
  }

  /** Envelope cross-correlation over lags 0..MAX; keeps the best lag when it is clear enough. */
  private estimateDelay(endBlock: number): void {
    const start = endBlock - WINDOW_BLOCKS;
    const mask = ENV_RING - 1;
    let mm = 0;
    let m2 = 0;
    for (let b = start; b < endBlock; b++) {
      const v = this.micEnv[b & mask];
      mm += v;
      m2 += v * v;
    }
    mm /= WINDOW_BLOCKS;
    const mVar = m2 / WINDOW_BLOCKS - mm * mm;
    if (mVar < 1e-10) return;
    let bestLag = -1;
    let bestC = 0;
    let bestRatio = 0;
    // A lag counts only once 300 ms of the reference have had time to come back through it.
    const lastLag = Math.min(MAX_LAG_BLOCKS, endBlock - this.refStartBlock - MIN_OVERLAP_BLOCKS);
    lagSums(this.micEnv, this.refEnv, start, lastLag);
    for (let lag = 2; lag <= lastLag; lag++) {
      const rm = lagRm[lag] / WINDOW_BLOCKS;
      const rVar = lagR2[lag] / WINDOW_BLOCKS - rm * rm;
      if (rVar < 1e-10) continue;
      const mr = lagMr[lag];
      const c = (mr / WINDOW_BLOCKS - mm * rm) / Math.sqrt(mVar * rVar);
      if (c > bestC) {
        bestC = c;
        bestLag = lag;
        bestRatio = (mr / WINDOW_BLOCKS - mm * rm) / rVar; // least-squares slope mic ≈ a·ref
      }
    }
    if (bestLag < 0 || bestC < 0.5) return;
    const coarse = bestLag * BLOCK;
    if (this.delay < 0) {
      // The first delay must be found twice in a row (100 ms apart): early on, before the echo
      // has even arrived, a noisy line correlates with the reference by chance.
      const seen = this.firstCoarse;
      this.firstCoarse = coarse;
      if (seen < 0 || Math.abs(seen - coarse) > 2 * BLOCK) return;
    }
    if (bestRatio > 0) this.erlAmp = Math.min(4, bestRatio);
    // A new coarse delay (or the first): refine it to the sample on the waveforms.
    if (this.delay >= 0 && Math.abs(coarse - this.coarse) <= BLOCK && this.erle > 2) {
      this.confidence = bestC;
      return;
    }
    const fine = this.fineDelay(coarse);
    if (fine < 0) return;
    if (this.delay >= 0 && Math.abs(fine - this.delay) > 8 && this.erle > 4) {
      // A working filter gives way only to a delay found twice in a row.
      if (Math.abs(fine - this.pendingDelay) > 8) {
        this.pendingDelay = fine;
        return;
      }
    }
    this.pendingDelay = -1;
    if (this.delay < 0 || Math.abs(fine - this.delay) > 8) {
      this.w.fill(0);
      this.wf.fill(0);
      this.sB = this.sF = 0;
      this.erle = 1;
      this.bands.reset();
      this.delay = fine;
    }
    this.coarse = coarse;
    this.confidence = bestC;
  }

  /**
   * The lag within ±FINE of `coarse` where the line best matches the reference (the first lag of
   * the largest c²/‖x‖², c the sum of mic·ref over the last FINE_WINDOW samples), or -1. The sums
   * come from an FFT correlation; only the lags its error bound cannot rule out are summed exactly,
   * in lag order, so the lag is the one the direct search over every lag finds.
   */
  private fineDelay(coarse: number): number {
    const mask = REF_RING - 1;
    const end = this.n;
    const lo = Math.max(0, coarse - FINE);
    const hi = Math.min(coarse + FINE, REF_RING - FINE_WINDOW - 1);
    const lags = hi - lo + 1;
    if (lags <= 0) return -1;
    const xx = fineXx;
    let e = 0;
    for (let i = end - FINE_WINDOW; i < end; i++) {
      const x = this.ref[(i - lo) & mask];
      e += x * x;
    }
    xx[0] = e;
    for (let k = 1; k < lags; k++) {
      // Slide the reference window one sample back.
      const xin = this.ref[(end - FINE_WINDOW - lo - k) & mask];
      const xout = this.ref[(end - lo - k) & mask];
      e += xin * xin - xout * xout;
      xx[k] = e;
    }
    // a: the line's window; b: the reference from lag hi to lag lo, so corr[s] is lag hi − s.
    const a = fineA;
    const b = fineB;
    for (let k = 0; k < FINE_WINDOW; k++) a[k] = this.mic[(end - FINE_WINDOW + k) & mask];
    for (let k = 0; k < FINE_WINDOW + lags - 1; k++) b[k] = this.ref[(end - FINE_WINDOW - hi + k) & mask];
    const corr = fineCorr;
    const err = fineCorrelator.correlate(a, FINE_WINDOW, b, lags, corr);
    let floor = 0; // the largest value some lag surely reaches
    for (let k = 0; k < lags; k++) {
      const c = Math.max(0, Math.abs(corr[lags - 1 - k]) - err);
      const v = (c * c) / Math.max(xx[k], 1e-9);
      if (v > floor) floor = v;
    }
    let best = -1;
    let bestV = 0;
    for (let k = 0; k < lags; k++) {
      const c0 = Math.abs(corr[lags - 1 - k]) + err;
      if ((c0 * c0) / Math.max(xx[k], 1e-9) < floor) continue;
      const lag = lo + k;
      let c = 0;
      for (let i = end - FINE_WINDOW; i < end; i++) c += this.mic[i & mask] * this.ref[(i - lag) & mask];
      const v = (c * c) / Math.max(xx[k], 1e-9);
      if (v > bestV) {
        bestV = v;
        best = lag;
      }
    }
    return best;
  }
}

// The coarse search's sums per lag (2..MAX_LAG_BLOCKS) over the envelope window, and the windows
// copied out of the rings; shared by every canceller on the thread.
const lagRm = new Float64Array(MAX_LAG_BLOCKS + 1);
const lagR2 = new Float64Array(MAX_LAG_BLOCKS + 1);
const lagMr = new Float64Array(MAX_LAG_BLOCKS + 1);
const envM = new Float64Array(WINDOW_BLOCKS);
/** envR[q + MAX_LAG_BLOCKS − lag] is the reference envelope `lag` blocks before window block q. */
const envR = new Float64Array(WINDOW_BLOCKS + MAX_LAG_BLOCKS);

/**
 * For each lag in 2..lastLag, the sums over the window's blocks b of r = ref[b − lag]: Σr, Σr²
 * and Σr·mic[b], each in block order (as a lag-by-lag loop sums them). Four lags share a pass:
 * one mic and one new reference value loaded per block instead of a pair per lag.
 */
function lagSums(micEnv: Float32Array, refEnv: Float32Array, start: number, lastLag: number): void {
  const mask = ENV_RING - 1;
  const ml = MAX_LAG_BLOCKS;
  for (let q = 0; q < WINDOW_BLOCKS; q++) envM[q] = micEnv[(start + q) & mask];
  for (let p = 0; p < WINDOW_BLOCKS + ml; p++) envR[p] = refEnv[(start - ml + p) & mask];
  let lag = 2;
  for (; lag + 3 <= lastLag; lag += 4) {
    let rm0 = 0, rm1 = 0, rm2 = 0, rm3 = 0;
    let rr0 = 0, rr1 = 0, rr2 = 0, rr3 = 0;
    let mr0 = 0, mr1 = 0, mr2 = 0, mr3 = 0;
    let r0 = envR[ml - lag];
    let r1 = envR[ml - lag - 1];
    let r2 = envR[ml - lag - 2];
    let r3 = envR[ml - lag - 3];
    for (let q = 0; q < WINDOW_BLOCKS; q++) {
      const m = envM[q];
      rm0 += r0; rr0 += r0 * r0; mr0 += r0 * m;
      rm1 += r1; rr1 += r1 * r1; mr1 += r1 * m;
      rm2 += r2; rr2 += r2 * r2; mr2 += r2 * m;
      rm3 += r3; rr3 += r3 * r3; mr3 += r3 * m;
      r3 = r2;
      r2 = r1;
      r1 = r0;
      r0 = envR[q + 1 + ml - lag]; // at most index WINDOW_BLOCKS + ml − 2
    }
    lagRm[lag] = rm0; lagR2[lag] = rr0; lagMr[lag] = mr0;
    lagRm[lag + 1] = rm1; lagR2[lag + 1] = rr1; lagMr[lag + 1] = mr1;
    lagRm[lag + 2] = rm2; lagR2[lag + 2] = rr2; lagMr[lag + 2] = mr2;
    lagRm[lag + 3] = rm3; lagR2[lag + 3] = rr3; lagMr[lag + 3] = mr3;
  }
  for (; lag <= lastLag; lag++) {
    let rm = 0;
    let rr = 0;
    let mr = 0;
    for (let q = 0; q < WINDOW_BLOCKS; q++) {
      const r = envR[q + ml - lag];
      rm += r;
      rr += r * r;
      mr += r * envM[q];
    }
    lagRm[lag] = rm;
    lagR2[lag] = rr;
    lagMr[lag] = mr;
  }
}

const FINE_LAGS = 2 * FINE + 1;
// The fine search's scratch, shared by every canceller on the thread (a search runs to completion):
// the correlator, reference energy per lag, the two windows, the approximate sums.
const fineCorrelator = new Correlator(2048);
const fineXx = new Float64Array(FINE_LAGS);
const fineA = new Float32Array(FINE_WINDOW);
const fineB = new Float32Array(FINE_WINDOW + FINE_LAGS - 1);
const fineCorr = new Float64Array(FINE_LAGS);

function clamp16(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
}
