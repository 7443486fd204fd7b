// Per-call DSP (μ-law decode → noise suppression → VAD → level) and the batch format that
// carries many calls' frames in one task. Runs inside a DSP worker (workers/dsp.ts) and,
// unchanged, on the main thread (benchmarks, tests), so both paths compute the same thing.
import type { DenoiseMode, DspOptions } from './types.ts';
import { ULAW_TO_PCM } from '../adapters/kit/ulaw.ts';
import { loadVad, WebRtcVad } from './vad.ts';
import { createDenoiser, loadDenoisers, type Denoiser } from './denoise.ts';

export const FRAME_BYTES = 160;
/** levelDb of digital silence (keeps the value finite and JSON-safe). */
export const SILENCE_DB = -100;

const DENOISE_CODES: readonly DenoiseMode[] = ['off', 'spectral', 'rnnoise'];

/** Options packed in one byte so every task can carry them for every call it holds. */
export function encodeOptions(o: DspOptions): number {
  const d = DENOISE_CODES.indexOf(o.denoise);
  if (d < 0) throw new RangeError(`unknown denoise mode: ${String(o.denoise)}`);
  if (!(Number.isInteger(o.vadMode) && o.vadMode >= 0 && o.vadMode <= 3)) {
    throw new RangeError(`vadMode must be an integer 0..3, got ${String(o.vadMode)}`);
  }
  return (d << 2) | o.vadMode;
}

export function decodeOptions(code: number): DspOptions {
  const denoise = DENOISE_CODES[code >> 2];
  if (!denoise) throw new RangeError(`bad options code ${code}`);
  return { denoise, vadMode: (code & 3) as DspOptions['vadMode'] };
}

/** Loads every WASM module the DSP needs; call once per thread before creating CallDsp. */
export async function loadDsp(): Promise<void> {
  await Promise.all([loadVad(), loadDenoisers()]);
}

/**
 * One call's DSP state. VAD runs on the denoised signal (what STT hears), which is what
 * keeps it from firing on steady background noise; the 'off' mode sees the raw signal.
 */
export class CallDsp {
  readonly options: DspOptions;
  private readonly vad: WebRtcVad;
  private readonly denoiser: Denoiser | null;
  framesProcessed = 0;

  constructor(options: DspOptions) {
    this.options = { ...options };
    encodeOptions(this.options); // validates
    this.vad = new WebRtcVad(options.vadMode);
    try {
      this.denoiser = createDenoiser(options.denoise);
    } catch (e) {
      this.vad.free();
      throw e;
    }
  }

  /**
   * Processes the 160-byte μ-law frame at `ulaw[inOff..]` into `pcmOut[outOff .. outOff+160)`.
   * Returns the frame's level in dBFS; the VAD decision is in `lastSpeech`. Allocates nothing.
   */
  process(ulaw: Uint8Array, inOff: number, pcmOut: Int16Array, outOff: number): number {
    for (let i = 0; i < FRAME_BYTES; i++) pcmOut[outOff + i] = ULAW_TO_PCM[ulaw[inOff + i]];
    if (this.denoiser) this.denoiser.process(pcmOut, outOff);
    this.lastSpeech = this.vad.isSpeech(pcmOut, outOff);
    let energy = 0;
    for (let i = 0; i < FRAME_BYTES; i++) {
      const v = pcmOut[outOff + i];
      energy += v * v;
    }
    this.framesProcessed++;
    if (energy === 0) return SILENCE_DB;
    const db = 10 * Math.log10(energy / FRAME_BYTES / (32768 * 32768));
    return db < SILENCE_DB ? SILENCE_DB : db;
  }

  lastSpeech = false;

  free(): void {
    this.vad.free();
    this.denoiser?.free();
  }
}

// ---------------------------------------------------------------------------------------
// Batch format (main thread ↔ worker)

/** One task: every call's pending frames, concatenated call by call, in push order. */
export interface DspTask {
  /** n × 160 μ-law bytes. */
  ulaw: Uint8Array;
  /** Calls in this batch (numeric handles, cheap to transfer), in the order their frames appear in `ulaw`. */
  ids: Uint32Array;
  /** Frames per call, parallel to `ids`. */
  counts: Uint32Array;
  /** encodeOptions() per call, parallel to `ids` (a fresh worker needs them after a crash). */
  modes: Uint8Array;
  /** Call handles to free after this batch's frames. */
  closed: number[];
  /** Test-only fault injection: makes the worker thread die. */
  crash?: 'throw' | 'exit';
}

/**
 * Result layout, one ArrayBuffer (transferred, not cloned):
 *   Uint32[2]            header: live call states in the worker after the batch, n
 *   Int16[n × 160]       denoised PCM
 *   Float32[n]           levelDb
 *   Uint8[n]             speech (0/1)
 */
export interface DspResultView {
  liveCalls: number;
  n: number;
  pcm: Int16Array;
  levels: Float32Array;
  speech: Uint8Array;
}

const HEADER_BYTES = 8;

export function allocResult(n: number): ArrayBuffer {
  return new ArrayBuffer(HEADER_BYTES + n * FRAME_BYTES * 2 + n * 4 + n);
}

export function viewResult(buf: ArrayBuffer): DspResultView {
  const head = new Uint32Array(buf, 0, 2);
  const n = head[1];
  const pcmOff = HEADER_BYTES;
  const levelOff = pcmOff + n * FRAME_BYTES * 2;
  const speechOff = levelOff + n * 4;
  if (buf.byteLength !== speechOff + n) throw new Error('malformed DSP result buffer');
  return {
    liveCalls: head[0],
    n,
    pcm: new Int16Array(buf, pcmOff, n * FRAME_BYTES),
    levels: new Float32Array(buf, levelOff, n),
    speech: new Uint8Array(buf, speechOff, n),
  };
}

/** All call states of one thread, keyed by callId; created on first sight of a call. */
export class DspCore {
  private readonly calls = new Map<number, CallDsp>();

  get liveCalls(): number {
    return this.calls.size;
  }

  processBatch(task: DspTask): ArrayBuffer {
    const { ulaw, ids, counts, modes, closed } = task;
    let n = 0;
    for (let c = 0; c < ids.length; c++) n += counts[c];
    if (ids.length !== counts.length || ids.length !== modes.length || ulaw.length !== n * FRAME_BYTES) {
      throw new Error(`malformed DSP task: ${ids.length} ids, ${counts.length} counts, ${ulaw.length} bytes`);
    }
    const buf = allocResult(n);
    const r = viewResultUnchecked(buf, n);
    let f = 0;
    for (let c = 0; c < ids.length; c++) {
      let dsp = this.calls.get(ids[c]);
      if (!dsp) {
        dsp = new CallDsp(decodeOptions(modes[c]));
        this.calls.set(ids[c], dsp);
      }
      for (let k = 0; k < counts[c]; k++, f++) {
        r.levels[f] = dsp.process(ulaw, f * FRAME_BYTES, r.pcm, f * FRAME_BYTES);
        r.speech[f] = dsp.lastSpeech ? 1 : 0;
      }
    }
    for (const id of closed) this.close(id);
    new Uint32Array(buf, 0, 2).set([this.calls.size, n]);
    return buf;
  }

  close(handle: number): void {
    const dsp = this.calls.get(handle);
    if (dsp) {
      dsp.free();
      this.calls.delete(handle);
    }
  }
}

function viewResultUnchecked(buf: ArrayBuffer, n: number): DspResultView {
  const levelOff = HEADER_BYTES + n * FRAME_BYTES * 2;
  return {
    liveCalls: 0,
    n,
    pcm: new Int16Array(buf, HEADER_BYTES, n * FRAME_BYTES),
    levels: new Float32Array(buf, levelOff, n),
    speech: new Uint8Array(buf, levelOff + n * 4, n),
  };
}
