// Audio helpers shared by adapters: band-limited resampling (SpeexDSP resampler compiled to
// WASM, so downsampling a 22–24 kHz TTS voice to the 8 kHz phone line is properly
// anti-aliased), PCM16 → 8 kHz μ-law, and a small RIFF/WAV reader and writer.
// @ts-ignore: the package ships no type declarations; its shape is declared below.
import createSpeexModule from '@echogarden/speex-resampler-wasm';
import { encodeUlaw } from './kit/ulaw.ts';

/** The subset of the Emscripten module we use (names as exported by the package). */
interface SpeexModule {
  HEAP16: Int16Array;
  HEAPU32: Uint32Array;
  HEAP32: Int32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
  _speex_resampler_process_int(st: number, channel: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number): number;
  _speex_resampler_skip_zeros(st: number): number;
  _speex_resampler_get_input_latency(st: number): number;
  _speex_resampler_destroy(st: number): void;
  _speex_resampler_strerror(code: number): number;
}

let speexPromise: Promise<SpeexModule> | undefined;
/** Loads the WASM module once per thread; later calls share it. */
function loadSpeex(): Promise<SpeexModule> {
  speexPromise ??= (createSpeexModule as (arg?: object) => Promise<SpeexModule>)().catch((e: unknown) => {
    speexPromise = undefined; // let a later call retry rather than caching the failure
    throw new Error(`cannot load the speex resampler WASM: ${(e as Error).message}`, { cause: e });
  });
  return speexPromise;
}

/** SpeexDSP quality 0..10; 5 ("desktop") keeps aliasing far below μ-law's own noise floor. */
export const DEFAULT_RESAMPLER_QUALITY = 5;

function checkRate(name: string, rate: number): void {
  if (!Number.isInteger(rate) || rate < 1000 || rate > 384_000) throw new RangeError(`${name} must be an integer sample rate in 1000..384000 Hz, got ${rate}`);
}

// Releases WASM memory if a caller forgets destroy(); destroy() remains the normal path.
const finalizer = new FinalizationRegistry<{ mod: SpeexModule; st: number; inPtr: number; outPtr: number; lenPtr: number }>((h) => {
  h.mod._speex_resampler_destroy(h.st);
  h.mod._free(h.inPtr);
  h.mod._free(h.outPtr);
  h.mod._free(h.lenPtr);
});

/**
 * Streaming mono PCM16 resampler: push() chunks as they arrive (e.g. from a streaming TTS),
 * flush() at the end. The filter delay is removed, so the concatenated output lines up with
 * the input and has round(inputSamples · toRate / fromRate) samples in total.
 * Not thread-shared; one instance per stream. Call destroy() (flush() does not) when done.
 */
export class StreamingResampler {
  private static readonly CHUNK = 4096; // input samples per WASM call
  private readonly ratio: number;
  private totalIn = 0;
  private totalOut = 0;
  private destroyed = false;
  private flushed = false;
  private readonly handle: { mod: SpeexModule; st: number; inPtr: number; outPtr: number; lenPtr: number } | null;
  private readonly outCap: number;

  private constructor(
    readonly fromRate: number,
    readonly toRate: number,
    mod: SpeexModule | null,
    quality: number,
  ) {
    this.ratio = toRate / fromRate;
    this.outCap = Math.ceil(StreamingResampler.CHUNK * this.ratio) + 64;
    if (!mod) {
      this.handle = null; // same rate: pass-through, no WASM state
      return;
    }
    const errPtr = mod._malloc(4);
    const st = mod._speex_resampler_init(1, fromRate, toRate, quality, errPtr);
    const err = mod.HEAP32[errPtr >> 2];
    mod._free(errPtr);
    if (!st || err !== 0) throw new Error(`speex_resampler_init(${fromRate} → ${toRate}, q${quality}) failed with code ${err}`);
    mod._speex_resampler_skip_zeros(st); // drop the filter's leading delay
    this.handle = {
      mod,
      st,
      inPtr: mod._malloc(StreamingResampler.CHUNK * 2),
      outPtr: mod._malloc(this.outCap * 2),
      lenPtr: mod._malloc(8),
    };
    finalizer.register(this, this.handle, this);
  }

  static async create(fromRate: number, toRate: number, quality = DEFAULT_RESAMPLER_QUALITY): Promise<StreamingResampler> {
    checkRate('fromRate', fromRate);
    checkRate('toRate', toRate);
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) throw new RangeError(`resampler quality must be an integer 0..10, got ${quality}`);
    return new StreamingResampler(fromRate, toRate, fromRate === toRate ? null : await loadSpeex(), quality);
  }

  /** Resamples the next piece of the stream; may return fewer samples than the ratio suggests (filter delay). */
  push(pcm: Int16Array): Int16Array {
    if (this.destroyed) throw new Error('StreamingResampler: push() after destroy()');
    if (this.flushed) throw new Error('StreamingResampler: push() after flush()');
    this.totalIn += pcm.length;
    if (!this.handle) {
      this.totalOut += pcm.length;
      return pcm.slice();
    }
    return this.run(pcm);
  }

  /** Drains the filter tail and ends the stream: push() and flush() throw afterwards. */
  flush(): Int16Array {
    if (this.destroyed) throw new Error('StreamingResampler: flush() after destroy()');
    if (this.flushed) throw new Error('StreamingResampler: flush() called twice');
    this.flushed = true;
    if (!this.handle) return new Int16Array(0);
    const expected = Math.round(this.totalIn * this.ratio);
    const latency = this.handle.mod._speex_resampler_get_input_latency(this.handle.st);
    const tail = this.run(new Int16Array(latency + 2));
    const keep = Math.max(0, Math.min(tail.length, expected - (this.totalOut - tail.length)));
    this.totalOut -= tail.length - keep;
    return tail.subarray(0, keep);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (!this.handle) return;
    finalizer.unregister(this);
    const { mod, st, inPtr, outPtr, lenPtr } = this.handle;
    mod._speex_resampler_destroy(st);
    mod._free(inPtr);
    mod._free(outPtr);
    mod._free(lenPtr);
  }

  private run(pcm: Int16Array): Int16Array {
    const { mod, st, inPtr, outPtr, lenPtr } = this.handle!;
    const pieces: Int16Array[] = [];
    let total = 0;
    for (let off = 0; off < pcm.length; ) {
      const n = Math.min(StreamingResampler.CHUNK, pcm.length - off);
      // Heap views are re-read each time: the module's memory can grow and detach old views.
      mod.HEAP16.set(pcm.subarray(off, off + n), inPtr >> 1);
      mod.HEAPU32[lenPtr >> 2] = n;
      mod.HEAPU32[(lenPtr >> 2) + 1] = this.outCap;
      const rc = mod._speex_resampler_process_int(st, 0, inPtr, lenPtr, outPtr, lenPtr + 4);
      if (rc !== 0) throw new Error(`speex_resampler_process_int failed with code ${rc}`);
      const used = mod.HEAPU32[lenPtr >> 2];
      const made = mod.HEAPU32[(lenPtr >> 2) + 1];
      if (made > 0) {
        pieces.push(mod.HEAP16.slice(outPtr >> 1, (outPtr >> 1) + made));
        total += made;
      }
      if (used === 0 && made === 0) throw new Error('speex resampler made no progress');
      off += used;
    }
    this.totalOut += total;
    return concatInt16(pieces, total);
  }
}

function concatInt16(pieces: Int16Array[], total: number): Int16Array {
  if (pieces.length === 1) return pieces[0];
  const out = new Int16Array(total);
  let o = 0;
  for (const p of pieces) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One-shot resample of a whole mono PCM16 buffer. */
export async function resamplePcm16(pcm: Int16Array, fromRate: number, toRate: number): Promise<Int16Array> {
  if (!(pcm instanceof Int16Array)) throw new TypeError('resamplePcm16: pcm must be an Int16Array');
  const r = await StreamingResampler.create(fromRate, toRate);
  try {
    const head = r.push(pcm);
    const tail = r.flush();
    return concatInt16([head, tail], head.length + tail.length);
  } finally {
    r.destroy();
  }
}

/** Mono PCM16 at any rate → 8 kHz μ-law (Twilio's wire format). */
export async function pcm16ToUlaw8k(pcm: Int16Array, rate: number): Promise<Uint8Array> {
  const pcm8k = rate === 8000 ? pcm : await resamplePcm16(pcm, rate, 8000);
  return encodeUlaw(pcm8k);
}

/** Float samples in [-1, 1] → PCM16 with clipping. */
export function float32ToPcm16(f: Float32Array): Int16Array {
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const s = f[i] * 32768;
    out[i] = s >= 32767 ? 32767 : s <= -32768 ? -32768 : Math.round(s);
  }
  return out;
}

// ------------------------------------------------------------------------------- WAV

export interface ParsedWav {
  sampleRate: number;
  channels: number;
  format: 'pcm16' | 'ulaw' | 'float32';
  /** Interleaved when channels > 1. */
  samples: Int16Array | Uint8Array | Float32Array;
}

const WAVE_PCM = 1;
const WAVE_FLOAT = 3;
const WAVE_MULAW = 7;
const WAVE_EXTENSIBLE = 0xfffe;

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}

/**
 * Reads a RIFF/WAVE file holding 16-bit PCM, 32-bit float or 8-bit μ-law (WAVE_FORMAT_EXTENSIBLE
 * included). Unknown chunks are skipped; a data size larger than the file (streamed WAVs write
 * 0xFFFFFFFF) is clamped to what is present. Throws an Error saying what is wrong otherwise.
 */
export function parseWav(buf: Uint8Array): ParsedWav {
  if (!(buf instanceof Uint8Array)) throw new TypeError('parseWav: expected a Uint8Array');
  if (buf.length < 12) throw new Error(`not a WAV file: ${buf.length} bytes is shorter than a RIFF header`);
  if (fourcc(buf, 0) !== 'RIFF' || fourcc(buf, 8) !== 'WAVE') throw new Error(`not a WAV file: header is "${fourcc(buf, 0)}…${fourcc(buf, 8)}", expected "RIFF…WAVE"`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let fmt: { tag: number; channels: number; rate: number; bits: number; blockAlign: number } | undefined;
  let data: { start: number; size: number } | undefined;
  for (let p = 12; p + 8 <= buf.length; ) {
    const id = fourcc(buf, p);
    const size = dv.getUint32(p + 4, true);
    const body = p + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new Error(`bad WAV: fmt chunk is ${size} bytes (need at least 16)`);
      let tag = dv.getUint16(body, true);
      if (tag === WAVE_EXTENSIBLE) {
        if (size < 40 || body + 26 > buf.length) throw new Error('bad WAV: WAVE_FORMAT_EXTENSIBLE fmt chunk is truncated');
        tag = dv.getUint16(body + 24, true); // first two bytes of the sub-format GUID
      }
      fmt = { tag, channels: dv.getUint16(body + 2, true), rate: dv.getUint32(body + 4, true), blockAlign: dv.getUint16(body + 12, true), bits: dv.getUint16(body + 14, true) };
    } else if (id === 'data') {
      data = { start: body, size: Math.min(size, buf.length - body) };
      break; // samples follow; anything after is irrelevant
    }
    p = body + size + (size & 1); // chunks are padded to even sizes
  }
  if (!fmt) throw new Error('bad WAV: no fmt chunk before the data');
  if (!data) throw new Error('bad WAV: no data chunk');
  const { tag, channels, rate, bits } = fmt;
  if (channels < 1) throw new Error('bad WAV: 0 channels');
  if (rate < 1) throw new Error('bad WAV: sample rate 0');
  const raw = buf.subarray(data.start, data.start + data.size);
  if (tag === WAVE_PCM && bits === 16) {
    const n = raw.length >> 1;
    const out = new Int16Array(n);
    const rv = new DataView(raw.buffer, raw.byteOffset, n * 2);
    for (let i = 0; i < n; i++) out[i] = rv.getInt16(i * 2, true);
    return { sampleRate: rate, channels, format: 'pcm16', samples: out };
  }
  if (tag === WAVE_FLOAT && bits === 32) {
    const n = raw.length >> 2;
    const out = new Float32Array(n);
    const rv = new DataView(raw.buffer, raw.byteOffset, n * 4);
    for (let i = 0; i < n; i++) out[i] = rv.getFloat32(i * 4, true);
    return { sampleRate: rate, channels, format: 'float32', samples: out };
  }
  if (tag === WAVE_MULAW && bits === 8) return { sampleRate: rate, channels, format: 'ulaw', samples: raw.slice() };
  throw new Error(`unsupported WAV encoding: format tag ${tag} with ${bits} bits (supported: PCM 16-bit, float 32-bit, μ-law 8-bit)`);
}

function writeHeader(dv: DataView, bytes: Uint8Array, o: { tag: number; channels: number; rate: number; bits: number; dataBytes: number; frames: number }): number {
  const text = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) bytes[at + i] = s.charCodeAt(i);
  };
  const isPcm = o.tag === WAVE_PCM;
  const fmtSize = isPcm ? 16 : 18; // non-PCM formats carry cbSize and a fact chunk
  const blockAlign = (o.channels * o.bits) >> 3;
  const headerBytes = 12 + 8 + fmtSize + (isPcm ? 0 : 12) + 8;
  text(0, 'RIFF');
  dv.setUint32(4, headerBytes - 8 + o.dataBytes + (o.dataBytes & 1), true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  dv.setUint32(16, fmtSize, true);
  dv.setUint16(20, o.tag, true);
  dv.setUint16(22, o.channels, true);
  dv.setUint32(24, o.rate, true);
  dv.setUint32(28, o.rate * blockAlign, true);
  dv.setUint16(32, blockAlign, true);
  dv.setUint16(34, o.bits, true);
  let p = 36;
  if (!isPcm) {
    dv.setUint16(p, 0, true);
    p += 2;
    text(p, 'fact');
    dv.setUint32(p + 4, 4, true);
    dv.setUint32(p + 8, o.frames, true);
    p += 12;
  }
  text(p, 'data');
  dv.setUint32(p + 4, o.dataBytes, true);
  return p + 8;
}

/** Mono μ-law bytes → a WAV file (format 7), e.g. to save what the agent said. */
export function wavFromUlaw(ulaw: Uint8Array, sampleRate = 8000): Uint8Array {
  checkRate('sampleRate', sampleRate);
  const out = new Uint8Array(58 + ulaw.length + (ulaw.length & 1));
  const start = writeHeader(new DataView(out.buffer), out, { tag: WAVE_MULAW, channels: 1, rate: sampleRate, bits: 8, dataBytes: ulaw.length, frames: ulaw.length });
  out.set(ulaw, start);
  return out;
}

/** Mono PCM16 → a WAV file (format 1). */
export function wavFromPcm16(pcm: Int16Array, sampleRate: number): Uint8Array {
  checkRate('sampleRate', sampleRate);
  const out = new Uint8Array(44 + pcm.length * 2);
  const dv = new DataView(out.buffer);
  const start = writeHeader(dv, out, { tag: WAVE_PCM, channels: 1, rate: sampleRate, bits: 16, dataBytes: pcm.length * 2, frames: pcm.length });
  for (let i = 0; i < pcm.length; i++) dv.setInt16(start + i * 2, pcm[i], true);
  return out;
}
