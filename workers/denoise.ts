// Noise suppression for 8 kHz, 20 ms frames, in place. Two denoisers, both per call:
//  - 'spectral': STFT (sqrt-Hann 160-sample window, 80-sample hop, 256-point FFT) with a
//    minimum-statistics noise floor and a decision-directed Wiener gain. Light: the gain is
//    floored, so it never fully mutes, and it adds 10 ms of delay (one hop).
//  - 'rnnoise': RNNoise (WASM) at 48 kHz, resampled 8k→48k→8k. ≈ 20 ms delay
//    (10 ms RNNoise + 5 ms per resampler). Runs the SIMD build of @shiguredo/rnnoise-wasm
//    2022.2.0: same model as the scalar builds (output within ±1 LSB), ≈ 20 % faster.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { DenoiseMode } from './types.ts';
import { Fft } from './fft.ts';
import { FRAME_48K, FRAME_8K, loadResampler, Resampler48k } from './resample-48k.ts';

export interface Denoiser {
  /** Denoise `pcm[offset .. offset+160)` in place. */
  process(pcm: Int16Array, offset: number): void;
  free(): void;
}

// ---------------------------------------------------------------------------------------
// Spectral suppression

const WIN = 160;
const HOP = 80;
const NFFT = 256;
const BINS = NFFT / 2 + 1;
/** Tuning of the spectral denoiser (defaults below; overridable for tuning runs). */
export interface SpectralParams {
  /** Periodogram smoothing before the minimum search. */
  alphaS: number;
  /** Bias compensation: the minimum of a smoothed noise periodogram sits below its mean. */
  minBias: number;
  /** Decision-directed a-priori SNR smoothing. */
  betaDd: number;
  /** Gain floor (linear; 0.2 = -14 dB): keeps it light and limits musical noise. */
  gainMin: number;
  /** Hops (10 ms) per minimum-search sub-window; the search spans 8 of them. */
  subWindowHops: number;
}

export const SPECTRAL_DEFAULTS: Readonly<SpectralParams> = {
  alphaS: 0.6,
  minBias: 2,
  betaDd: 0.96,
  gainMin: 0.2,
  subWindowHops: 25,
};

/** Minimum search over SUB_U sub-windows. */
const SUB_U = 8;

let sharedFft: Fft | undefined;
/** sqrt-Hann (periodic): analysis × synthesis = Hann, which sums to 1 at 50 % overlap. */
const SQRT_HANN = new Float32Array(WIN);
for (let i = 0; i < WIN; i++) SQRT_HANN[i] = Math.sqrt(0.5 - 0.5 * Math.cos((2 * Math.PI * i) / WIN));
// One scratch spectrum per thread; processing is never re-entrant.
const RE = new Float32Array(NFFT);
const IM = new Float32Array(NFFT);

export class SpectralDenoiser implements Denoiser {
  private readonly ana = new Float32Array(WIN);
  private readonly ola = new Float32Array(WIN);
  private readonly smoothed = new Float32Array(BINS);
  private readonly subMin = new Float32Array(BINS);
  private readonly ring = new Float32Array(SUB_U * BINS);
  private readonly ringMin = new Float32Array(BINS);
  private readonly prevClean = new Float32Array(BINS);
  private hops = 0;
  private ringPos = 0;

  private readonly p: SpectralParams;

  constructor(params: Partial<SpectralParams> = {}) {
    sharedFft ??= new Fft(NFFT);
    this.p = { ...SPECTRAL_DEFAULTS, ...params };
  }

  process(pcm: Int16Array, offset: number): void {
    this.hop(pcm, offset);
    this.hop(pcm, offset + HOP);
  }

  private hop(pcm: Int16Array, off: number): void {
    const fft = sharedFft!;
    const ana = this.ana;
    ana.copyWithin(0, HOP);
    for (let i = 0; i < HOP; i++) ana[HOP + i] = pcm[off + i];
    for (let i = 0; i < WIN; i++) {
      RE[i] = ana[i] * SQRT_HANN[i];
      IM[i] = 0;
    }
    RE.fill(0, WIN);
    IM.fill(0, WIN);
    fft.forward(RE, IM);

    const first = this.hops === 0;
    const S = this.smoothed;
    const { alphaS, minBias, betaDd, gainMin } = this.p;
    for (let k = 0; k < BINS; k++) {
      const pw = RE[k] * RE[k] + IM[k] * IM[k] + 1e-3;
      const s = first ? pw : alphaS * S[k] + (1 - alphaS) * pw;
      S[k] = s;
      if (first) {
        this.subMin[k] = s;
        this.ringMin[k] = s;
        for (let u = 0; u < SUB_U; u++) this.ring[u * BINS + k] = s;
      } else if (s < this.subMin[k]) this.subMin[k] = s;
      const noise = minBias * Math.min(this.ringMin[k], this.subMin[k]);
      const gamma = pw / noise;
      const xi = betaDd * (this.prevClean[k] / noise) + (1 - betaDd) * Math.max(gamma - 1, 0);
      let g = xi / (1 + xi);
      if (g < gainMin) g = gainMin;
      this.prevClean[k] = g * g * pw;
      RE[k] *= g;
      IM[k] *= g;
      if (k > 0 && k < NFFT / 2) {
        RE[NFFT - k] *= g;
        IM[NFFT - k] *= g;
      }
    }
    this.hops++;
    if (this.hops % this.p.subWindowHops === 0) this.rotateMinima();

    fft.inverse(RE, IM);
    const ola = this.ola;
    for (let i = 0; i < WIN; i++) ola[i] += RE[i] * SQRT_HANN[i];
    for (let i = 0; i < HOP; i++) {
      const v = Math.round(ola[i]);
      pcm[off + i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    ola.copyWithin(0, HOP);
    ola.fill(0, WIN - HOP);
  }

  /** End of a sub-window: store its minimum, recompute the minimum over the ring. */
  private rotateMinima(): void {
    const base = this.ringPos * BINS;
    for (let k = 0; k < BINS; k++) this.ring[base + k] = this.subMin[k];
    this.ringPos = (this.ringPos + 1) % SUB_U;
    for (let k = 0; k < BINS; k++) {
      let m = this.ring[k];
      for (let u = 1; u < SUB_U; u++) {
        const v = this.ring[u * BINS + k];
        if (v < m) m = v;
      }
      this.ringMin[k] = m;
      this.subMin[k] = this.smoothed[k];
    }
  }

  free(): void {}
}

// ---------------------------------------------------------------------------------------
// RNNoise

/** The exports used from the RNNoise .wasm (Emscripten standalone build, plain names). */
interface RnnoiseExports {
  memory: WebAssembly.Memory;
  emscripten_stack_init(): void;
  __wasm_call_ctors(): void;
  malloc(bytes: number): number;
  rnnoise_get_frame_size(): number;
  rnnoise_create(model: number): number;
  rnnoise_destroy(st: number): void;
  rnnoise_process_frame(st: number, outPtr: number, inPtr: number): number;
}

// The package's JS glue refuses to run in Node, so the .wasm is instantiated directly.
const RNNOISE_WASM = '@shiguredo/rnnoise-wasm/dist/rnnoise_simd.wasm';
const RNNOISE_WASM_SCALAR = '@shiguredo/rnnoise-wasm/dist/rnnoise.wasm';
const RNN_FRAME = 480;
const WASM_PAGE = 65536;
const MAX_HEAP = 2 ** 31 - WASM_PAGE;

let rnn: RnnoiseExports | undefined;
let rnnBuild: 'simd' | 'scalar' | undefined;
let rnnLoading: Promise<void> | undefined;
let rnnIn = 0;
let rnnOut = 0;
/** View of the RNNoise heap; replaced when the memory grows (the old buffer is detached). */
let rnnHeap = new Float32Array(0);
const F8 = new Float32Array(FRAME_8K);
const F48 = new Float32Array(FRAME_48K);

function heapF32(): Float32Array {
  const buf = rnn!.memory.buffer;
  if (rnnHeap.buffer !== buf) rnnHeap = new Float32Array(buf);
  return rnnHeap;
}

async function instantiateRnnoise(specifier: string): Promise<RnnoiseExports> {
  const bytes = await readFile(createRequire(import.meta.url).resolve(specifier));
  let memory: WebAssembly.Memory | undefined;
  const env = {
    emscripten_memcpy_big(dest: number, src: number, n: number): void {
      new Uint8Array(memory!.buffer).copyWithin(dest, src, src + n);
    },
    /** Grow to at least `requested` bytes (+20 % headroom if possible); 1 = ok, 0 = failed. */
    emscripten_resize_heap(requested: number): number {
      const want = requested >>> 0;
      const cur = memory!.buffer.byteLength;
      if (want > MAX_HEAP) return 0;
      for (const size of [Math.min(MAX_HEAP, Math.max(want, cur + cur / 5)), want]) {
        try {
          memory!.grow(Math.ceil((size - cur) / WASM_PAGE));
          return 1;
        } catch {
          // try the exact size next
        }
      }
      return 0;
    },
    __assert_fail(): never {
      throw new Error('RNNoise WASM assertion failed');
    },
  };
  const { instance } = await WebAssembly.instantiate(bytes, { env });
  const x = instance.exports as unknown as RnnoiseExports;
  memory = x.memory;
  x.emscripten_stack_init();
  x.__wasm_call_ctors();
  if (x.rnnoise_get_frame_size() !== RNN_FRAME) throw new Error(`unexpected RNNoise frame size ${x.rnnoise_get_frame_size()}`);
  return x;
}

/** Which RNNoise build loadDenoisers() instantiated in this thread (undefined before). */
export function rnnoiseBuild(): 'simd' | 'scalar' | undefined {
  return rnnBuild;
}

export class RnnoiseDenoiser implements Denoiser {
  private st: number;
  private readonly rs = new Resampler48k();
  /** RNNoise's own voice probability for the last frame (max of its two 10 ms frames). */
  lastVoiceProb = 0;

  constructor() {
    if (!rnn) throw new Error('RNNoise module not loaded: await loadDenoisers() first');
    this.st = rnn.rnnoise_create(0);
    if (this.st === 0) throw new Error('rnnoise_create failed (out of WASM memory?)');
  }

  process(pcm: Int16Array, offset: number): void {
    const m = rnn!;
    for (let i = 0; i < FRAME_8K; i++) F8[i] = pcm[offset + i];
    this.rs.upsample(F8, F48);
    let prob = 0;
    for (let part = 0; part < FRAME_48K; part += RNN_FRAME) {
      let heap = heapF32();
      const ib = rnnIn >> 2;
      for (let i = 0; i < RNN_FRAME; i++) heap[ib + i] = F48[part + i];
      const p = m.rnnoise_process_frame(this.st, rnnOut, rnnIn);
      if (p > prob) prob = p;
      heap = heapF32();
      const ob = rnnOut >> 2;
      for (let i = 0; i < RNN_FRAME; i++) F48[part + i] = heap[ob + i];
    }
    this.lastVoiceProb = prob;
    this.rs.downsample(F48, F8);
    for (let i = 0; i < FRAME_8K; i++) {
      const v = Math.round(F8[i]);
      pcm[offset + i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
  }

  free(): void {
    if (this.st !== 0) rnn!.rnnoise_destroy(this.st);
    this.st = 0;
    this.rs.free();
  }
}

/** Loads the WASM modules the denoisers need (once per thread). */
export function loadDenoisers(): Promise<void> {
  rnnLoading ??= (async () => {
    await loadResampler();
    let m: RnnoiseExports;
    let build: 'simd' | 'scalar' = 'simd';
    try {
      m = await instantiateRnnoise(RNNOISE_WASM);
    } catch (e) {
      // No WebAssembly SIMD in this runtime: the scalar build, same model, only slower.
      if ((e as Error)?.name !== 'CompileError') throw e;
      m = await instantiateRnnoise(RNNOISE_WASM_SCALAR);
      build = 'scalar';
    }
    rnnIn = m.malloc(RNN_FRAME * 4);
    rnnOut = m.malloc(RNN_FRAME * 4);
    if (rnnIn === 0 || rnnOut === 0) throw new Error('RNNoise malloc failed');
    rnn = m;
    rnnBuild = build;
  })();
  return rnnLoading;
}

export function createDenoiser(mode: DenoiseMode): Denoiser | null {
  switch (mode) {
    case 'off':
      return null;
    case 'spectral':
      return new SpectralDenoiser();
    case 'rnnoise':
      return new RnnoiseDenoiser();
    default:
      throw new RangeError(`unknown denoise mode: ${String(mode)}`);
  }
}
