// WebRTC VAD (libfvad compiled to WASM, @echogarden/fvad-wasm) on 8 kHz, 20 ms frames.
// One WASM module per thread holds every call's VAD instance; each call owns one instance.
// Only the per-frame decision lives here: turn logic (hangover, minimum speech) belongs to
// the turn detector on the main thread.

/** The subset of the Emscripten module that we use. */
interface FvadModule {
  _fvad_new(): number;
  _fvad_free(inst: number): void;
  _fvad_reset(inst: number): void;
  _fvad_set_mode(inst: number, mode: number): number;
  _fvad_set_sample_rate(inst: number, rate: number): number;
  _fvad_process(inst: number, frame: number, length: number): number;
  _malloc(bytes: number): number;
  HEAP16: Int16Array;
}

// A non-literal specifier: the package ships no type declarations, we type it ourselves.
const FVAD_PACKAGE: string = '@echogarden/fvad-wasm';

export const VAD_FRAME = 160;

let mod: FvadModule | undefined;
let loading: Promise<void> | undefined;
/** One scratch frame in the WASM heap, shared by all instances (a thread runs one at a time). */
let scratch = 0;

/** Loads the WASM module once per thread. */
export function loadVad(): Promise<void> {
  loading ??= (async () => {
    const { default: factory } = (await import(FVAD_PACKAGE)) as { default: () => Promise<FvadModule> };
    const m = await factory();
    scratch = m._malloc(VAD_FRAME * 2);
    mod = m;
  })();
  return loading;
}

export class WebRtcVad {
  private inst: number;

  constructor(mode: 0 | 1 | 2 | 3) {
    if (!mod) throw new Error('VAD module not loaded: await loadVad() first');
    if (!(mode >= 0 && mode <= 3)) throw new RangeError(`vadMode must be 0..3, got ${String(mode)}`);
    this.inst = mod._fvad_new();
    if (this.inst === 0) throw new Error('fvad_new failed (out of WASM memory?)');
    if (mod._fvad_set_mode(this.inst, mode) !== 0 || mod._fvad_set_sample_rate(this.inst, 8000) !== 0) {
      mod._fvad_free(this.inst);
      throw new Error('fvad configuration rejected');
    }
  }

  /** Raw WebRTC decision for one 160-sample frame (reads `pcm[offset .. offset+160)`). */
  isSpeech(pcm: Int16Array, offset = 0): boolean {
    const m = mod!;
    // Re-read HEAP16 every call: it is replaced when the WASM memory grows.
    const heap = m.HEAP16;
    const base = scratch >> 1;
    for (let i = 0; i < VAD_FRAME; i++) heap[base + i] = pcm[offset + i];
    const r = m._fvad_process(this.inst, scratch, VAD_FRAME);
    if (r < 0) throw new Error('fvad_process rejected the frame');
    return r === 1;
  }

  reset(): void {
    mod!._fvad_reset(this.inst);
  }

  free(): void {
    if (this.inst !== 0) {
      mod!._fvad_free(this.inst);
      this.inst = 0;
    }
  }
}
