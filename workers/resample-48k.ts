// 8 kHz ↔ 48 kHz resampling for RNNoise (which only runs at 48 kHz), with the Speex resampler
// compiled to WASM (SIMD build). One WASM module per thread; each call owns one up and one
// down resampler because the filters keep history. For this integer ratio Speex turns every
// 160-sample frame into exactly 960 samples and back, with 5 ms of filter delay each way.

interface SpeexModule {
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
  _speex_resampler_destroy(st: number): void;
  _speex_resampler_process_float(st: number, channel: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number): number;
  _malloc(bytes: number): number;
  HEAP32: Int32Array;
  HEAPU32: Uint32Array;
  HEAPF32: Float32Array;
}

const SPEEX_PACKAGE: string = '@echogarden/speex-resampler-wasm/simd';

export const FRAME_8K = 160;
export const FRAME_48K = 960;
/** Speex quality 0..10; 5 is its "default" voice quality and costs a few µs per frame. */
const QUALITY = 5;

let mod: SpeexModule | undefined;
let loading: Promise<void> | undefined;
// Shared scratch in the WASM heap: [in 960 floats][out 960 floats][inLen][outLen][err].
let inPtr = 0;
let outPtr = 0;
let inLenPtr = 0;
let outLenPtr = 0;
let errPtr = 0;

export function loadResampler(): Promise<void> {
  loading ??= (async () => {
    const { default: factory } = (await import(SPEEX_PACKAGE)) as { default: () => Promise<SpeexModule> };
    const m = await factory();
    inPtr = m._malloc(FRAME_48K * 4);
    outPtr = m._malloc(FRAME_48K * 4);
    inLenPtr = m._malloc(4);
    outLenPtr = m._malloc(4);
    errPtr = m._malloc(4);
    mod = m;
  })();
  return loading;
}

function create(inRate: number, outRate: number): number {
  if (!mod) throw new Error('resampler module not loaded: await loadResampler() first');
  const st = mod._speex_resampler_init(1, inRate, outRate, QUALITY, errPtr);
  if (st === 0 || mod.HEAP32[errPtr >> 2] !== 0) throw new Error(`speex_resampler_init(${inRate}→${outRate}) failed`);
  return st;
}

function run(st: number, input: Float32Array, inLen: number, output: Float32Array, outLen: number): void {
  const m = mod!;
  let heap = m.HEAPF32;
  const ib = inPtr >> 2;
  for (let i = 0; i < inLen; i++) heap[ib + i] = input[i];
  m.HEAPU32[inLenPtr >> 2] = inLen;
  m.HEAPU32[outLenPtr >> 2] = outLen;
  const err = m._speex_resampler_process_float(st, 0, inPtr, inLenPtr, outPtr, outLenPtr);
  if (err !== 0) throw new Error(`speex_resampler_process_float failed (${err})`);
  const produced = m.HEAPU32[outLenPtr >> 2];
  heap = m.HEAPF32;
  const ob = outPtr >> 2;
  for (let i = 0; i < produced; i++) output[i] = heap[ob + i];
  // Never expected for an integer ratio, but keep the frame length fixed if it happens.
  for (let i = produced; i < outLen; i++) output[i] = 0;
}

/** Per-call pair of resamplers; float samples in PCM16 scale in and out. */
export class Resampler48k {
  private up: number;
  private down: number;

  constructor() {
    this.up = create(8000, 48000);
    this.down = create(48000, 8000);
  }

  /** 160 samples at 8 kHz → 960 samples at 48 kHz. */
  upsample(in8k: Float32Array, out48k: Float32Array): void {
    run(this.up, in8k, FRAME_8K, out48k, FRAME_48K);
  }

  /** 960 samples at 48 kHz → 160 samples at 8 kHz. */
  downsample(in48k: Float32Array, out8k: Float32Array): void {
    run(this.down, in48k, FRAME_48K, out8k, FRAME_8K);
  }

  free(): void {
    if (this.up) mod!._speex_resampler_destroy(this.up);
    if (this.down) mod!._speex_resampler_destroy(this.down);
    this.up = 0;
    this.down = 0;
  }
}
