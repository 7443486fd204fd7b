// Per-call DSP (μ-law decode → echo cancellation → noise suppression → VAD → level) and the
// batch format that carries many calls' frames in one task. Runs inside a DSP worker
// (workers/dsp.ts) and, unchanged, on the main thread (benchmarks, tests), so both paths compute
// the same thing. Silero VAD runs batched: a task's frames are processed in rounds (the k-th
// frame of every call), and the calls whose 256-sample window completes in that round share one
// inference (workers/silero.ts).
import type { DenoiseMode, DspOptions, VadKind } from './types.ts';
import { ULAW_TO_PCM } from '../adapters/kit/ulaw.ts';
import { loadVad, WebRtcVad } from './vad.ts';
import { createDenoiser, loadDenoisers, type Denoiser } from './denoise.ts';
import { loadSilero, runSilero, SileroStream } from './silero.ts';
import { EchoCanceller, type EchoFrameInfo } from './echo.ts';

export const FRAME_BYTES = 160;
/** levelDb of digital silence (keeps the value finite and JSON-safe). */
export const SILENCE_DB = -100;

const DENOISE_CODES: readonly DenoiseMode[] = ['off', 'spectral', 'rnnoise'];
const VAD_CODES: readonly VadKind[] = ['webrtc', 'silero'];
/**
 * Cascade gate: a Silero window quieter than this (mean power, dBFS) is silence without running
 * the model (its probability is 0 and its recurrent state is left as it was). Digital silence
 * and a quiet line cost nothing; any audible noise still reaches the model.
 */
export const SILERO_GATE_DB = -55;
const SILERO_GATE_POWER = 10 ** (SILERO_GATE_DB / 10);

/** Options packed in one byte so every task can carry them for every call it holds. */
export function encodeOptions(o: DspOptions): number {
  const d = DENOISE_CODES.indexOf(o.denoise);
  if (d < 0) throw new RangeError(`unknown denoise mode: ${String(o.denoise)}`);
  if (!(Number.isInteger(o.vadMode) && o.vadMode >= 0 && o.vadMode <= 3)) {
    throw new RangeError(`vadMode must be an integer 0..3, got ${String(o.vadMode)}`);
  }
  const v = VAD_CODES.indexOf(o.vad ?? 'webrtc');
  if (v < 0) throw new RangeError(`unknown vad: ${String(o.vad)}`);
  return (v << 4) | (d << 2) | o.vadMode;
}

export function decodeOptions(code: number): Required<DspOptions> {
  const denoise = DENOISE_CODES[(code >> 2) & 3];
  const vad = VAD_CODES[code >> 4];
  if (!denoise || !vad) throw new RangeError(`bad options code ${code}`);
  return { denoise, vadMode: (code & 3) as DspOptions['vadMode'], vad };
}

/**
 * Loads the WASM modules the DSP needs; call once per thread before creating CallDsp. The Silero
 * model loads with the first call that uses it (≈ 60 ms, once per thread).
 */
export async function loadDsp(): Promise<void> {
  await Promise.all([loadVad(), loadDenoisers()]);
}

/**
 * One call's DSP state. VAD runs on the echo-cancelled, denoised signal (what STT hears), which
 * is what keeps it from firing on steady background noise; the 'off' mode sees the raw signal.
 */
export class CallDsp {
  readonly options: Required<DspOptions>;
  private readonly vad: WebRtcVad | null;
  private readonly denoiser: Denoiser | null;
  /** Silero state (silero mode). */
  readonly silero: SileroStream | null;
  /** Created when the first agent audio is queued. */
  private echo: EchoCanceller | null = null;
  private readonly echoInfo: EchoFrameInfo = { echoDb: SILENCE_DB, echoShare: 0, active: false };
  framesProcessed = 0;
  /** Decision, probability and echo level of the last frame processed. */
  lastSpeech = false;
  lastProb = 0;
  lastEchoDb = SILENCE_DB;
  /** Share of the last frame's energy in bands standing out of the echo (workers/echo-bands.ts). */
  lastEchoShare = 0;
  /** Where the samples of the last frame that did not fit the Silero window are (stage()). */
  private carryPcm: Int16Array | null = null;
  private carryOff = 0;
  private carryLen = 0;

  constructor(options: DspOptions) {
    this.options = decodeOptions(encodeOptions(options)); // validates
    this.vad = this.options.vad === 'webrtc' ? new WebRtcVad(this.options.vadMode) : null;
    if (this.options.vad === 'silero') loadSilero();
    this.silero = this.options.vad === 'silero' ? new SileroStream() : null;
    try {
      this.denoiser = createDenoiser(this.options.denoise);
    } catch (e) {
      this.vad?.free();
      throw e;
    }
  }

  /** Agent audio just sent to the caller (μ-law): it plays after what is queued, and echoes. */
  queuePlayout(ulaw: Uint8Array): void {
    (this.echo ??= new EchoCanceller()).queue(ulaw);
  }

  /** The agent's playback was cleared. */
  clearPlayout(): void {
    this.echo?.clear();
  }

  /** The echo canceller, when agent audio was ever queued (diagnostics, tests). */
  get echoCanceller(): EchoCanceller | null {
    return this.echo;
  }

  /**
   * Processes the 160-byte μ-law frame at `ulaw[inOff..]` into `pcmOut[outOff .. outOff+160)`.
   * Returns the frame's level in dBFS; the VAD decision and probability are in `lastSpeech` and
   * `lastProb`. Silero's window, when this frame completes one, runs here as a batch of one
   * (DspCore batches it across calls instead).
   */
  process(ulaw: Uint8Array, inOff: number, pcmOut: Int16Array, outOff: number): number {
    const db = this.stage(ulaw, inOff, pcmOut, outOff);
    if (this.silero?.ready) runWindows([this]);
    return db;
  }

  /** Everything but the Silero inference; `silero.ready` tells whether a window waits for it. */
  stage(ulaw: Uint8Array, inOff: number, pcmOut: Int16Array, outOff: number): number {
    for (let i = 0; i < FRAME_BYTES; i++) pcmOut[outOff + i] = ULAW_TO_PCM[ulaw[inOff + i]];
    if (this.echo) {
      this.echo.process(pcmOut, outOff, this.echoInfo);
      this.lastEchoDb = this.echoInfo.echoDb;
      this.lastEchoShare = this.echoInfo.echoShare;
    }
    if (this.denoiser) this.denoiser.process(pcmOut, outOff);
    if (this.vad) {
      this.lastSpeech = this.vad.isSpeech(pcmOut, outOff);
      this.lastProb = this.lastSpeech ? 1 : 0;
    }
    let energy = 0;
    for (let i = 0; i < FRAME_BYTES; i++) {
      const v = pcmOut[outOff + i];
      energy += v * v;
    }
    this.framesProcessed++;
    if (this.silero) {
      const s = this.silero;
      const took = s.append(pcmOut, outOff, FRAME_BYTES);
      this.carryPcm = pcmOut;
      this.carryOff = outOff + took;
      this.carryLen = FRAME_BYTES - took;
      if (s.ready && !gateOpen(s)) {
        // Too quiet to be speech: no inference, probability 0, state kept.
        s.skip();
        this.finishWindow();
      }
      this.lastProb = s.prob;
      this.lastSpeech = s.prob >= 0.5;
    }
    if (energy === 0) return SILENCE_DB;
    const db = 10 * Math.log10(energy / FRAME_BYTES / (32768 * 32768));
    return db < SILENCE_DB ? SILENCE_DB : db;
  }

  /** @internal After the window ran (or was skipped): the frame's remaining samples go into the next one. */
  finishWindow(): void {
    if (this.silero) {
      this.lastProb = this.silero.prob;
      this.lastSpeech = this.lastProb >= 0.5;
    }
    if (this.carryLen > 0 && this.carryPcm) this.silero!.append(this.carryPcm, this.carryOff, this.carryLen);
    this.carryLen = 0;
    this.carryPcm = null;
  }

  free(): void {
    this.vad?.free();
    this.denoiser?.free();
  }
}

/** Runs the waiting Silero windows of these calls as one inference. */
export function runWindows(calls: readonly CallDsp[]): void {
  runSilero(calls.map((c) => c.silero!));
  for (const c of calls) c.finishWindow();
}

function gateOpen(s: SileroStream): boolean {
  let p = 0;
  for (let i = 0; i < s.pending.length; i++) p += s.pending[i] * s.pending[i];
  return p / s.pending.length >= SILERO_GATE_POWER;
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
  /** Agent audio sent to these calls (μ-law, concatenated), the echo canceller's reference. */
  playout?: Uint8Array;
  /**
   * Playout events, four numbers each: call index (into `ids`), the frame of this task before
   * which it happened, byte offset into `playout`, byte length (-1: playback cleared).
   */
  playoutEvents?: Int32Array;
  /** Test-only fault injection: makes the worker thread die. */
  crash?: 'throw' | 'exit';
}

/**
 * Result layout, one ArrayBuffer (transferred, not cloned):
 *   Uint32[2]            header: live call states in the worker after the batch, n
 *   Int16[n × 160]       processed PCM
 *   Float32[n]           levelDb
 *   Float32[n]           speech probability
 *   Float32[n]           echo level left in the frame, dBFS
 *   Float32[n]           share of the frame's energy standing out of the echo, band by band
 *   Uint8[n]             speech (0/1)
 */
export interface DspResultView {
  liveCalls: number;
  n: number;
  pcm: Int16Array;
  levels: Float32Array;
  probs: Float32Array;
  echoDb: Float32Array;
  echoShare: Float32Array;
  speech: Uint8Array;
}

const HEADER_BYTES = 8;

export function allocResult(n: number): ArrayBuffer {
  return new ArrayBuffer(HEADER_BYTES + n * FRAME_BYTES * 2 + n * 16 + n);
}

export function viewResult(buf: ArrayBuffer): DspResultView {
  const n = new Uint32Array(buf, 0, 2)[1];
  if (buf.byteLength !== HEADER_BYTES + n * FRAME_BYTES * 2 + n * 16 + n) throw new Error('malformed DSP result buffer');
  const r = viewResultUnchecked(buf, n);
  r.liveCalls = new Uint32Array(buf, 0, 2)[0];
  return r;
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
    let rounds = 0;
    for (let c = 0; c < ids.length; c++) {
      n += counts[c];
      if (counts[c] > rounds) rounds = counts[c];
    }
    if (ids.length !== counts.length || ids.length !== modes.length || ulaw.length !== n * FRAME_BYTES) {
      throw new Error(`malformed DSP task: ${ids.length} ids, ${counts.length} counts, ${ulaw.length} bytes`);
    }
    const buf = allocResult(n);
    const r = viewResultUnchecked(buf, n);
    const dsps: CallDsp[] = new Array(ids.length);
    const first = new Uint32Array(ids.length);
    for (let c = 0, f = 0; c < ids.length; c++) {
      let dsp = this.calls.get(ids[c]);
      if (!dsp) {
        dsp = new CallDsp(decodeOptions(modes[c]));
        this.calls.set(ids[c], dsp);
      }
      dsps[c] = dsp;
      first[c] = f;
      f += counts[c];
    }
    const events = task.playoutEvents;
    // Round k: the k-th frame of every call; Silero windows completed in a round run as one batch.
    const waiting: CallDsp[] = [];
    const waitingFrame: number[] = [];
    for (let k = 0; k < rounds; k++) {
      for (let c = 0; c < ids.length; c++) {
        if (k >= counts[c]) continue;
        const dsp = dsps[c];
        if (events) applyPlayout(events, task.playout!, c, k, dsp);
        const f = first[c] + k;
        r.levels[f] = dsp.stage(ulaw, f * FRAME_BYTES, r.pcm, f * FRAME_BYTES);
        r.echoDb[f] = dsp.lastEchoDb;
        r.echoShare[f] = dsp.lastEchoShare;
        if (dsp.silero?.ready) {
          waiting.push(dsp);
          waitingFrame.push(f);
        } else {
          r.probs[f] = dsp.lastProb;
          r.speech[f] = dsp.lastSpeech ? 1 : 0;
        }
      }
      if (waiting.length > 0) {
        runWindows(waiting);
        for (let i = 0; i < waiting.length; i++) {
          r.probs[waitingFrame[i]] = waiting[i].lastProb;
          r.speech[waitingFrame[i]] = waiting[i].lastSpeech ? 1 : 0;
        }
        waiting.length = 0;
        waitingFrame.length = 0;
      }
    }
    // Events after a call's last frame (agent audio sent since): they apply before its next frame.
    if (events) for (let c = 0; c < ids.length; c++) applyPlayout(events, task.playout!, c, Infinity, dsps[c]);
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

/** Applies call `c`'s playout events due before its frame `k`, in order (a task holds few). */
function applyPlayout(events: Int32Array, bytes: Uint8Array, c: number, k: number, dsp: CallDsp): void {
  for (let i = 0; i < events.length; i += 4) {
    if (events[i] !== c || events[i + 1] > k || events[i + 3] === -2) continue;
    if (events[i + 3] === -1) dsp.clearPlayout();
    else dsp.queuePlayout(bytes.subarray(events[i + 2], events[i + 2] + events[i + 3]));
    events[i + 3] = -2; // applied
  }
}

function viewResultUnchecked(buf: ArrayBuffer, n: number): DspResultView {
  const levelOff = HEADER_BYTES + n * FRAME_BYTES * 2;
  return {
    liveCalls: 0,
    n,
    pcm: new Int16Array(buf, HEADER_BYTES, n * FRAME_BYTES),
    levels: new Float32Array(buf, levelOff, n),
    probs: new Float32Array(buf, levelOff + n * 4, n),
    echoDb: new Float32Array(buf, levelOff + n * 8, n),
    echoShare: new Float32Array(buf, levelOff + n * 12, n),
    speech: new Uint8Array(buf, levelOff + n * 16, n),
  };
}
