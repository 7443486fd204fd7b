// The 'rnnoise' denoiser runs the SIMD build of @shiguredo/rnnoise-wasm; its output must match
// the @echogarden/rnnoise-wasm build (the one it replaced), used here as a reference oracle.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDenoisers, RnnoiseDenoiser, rnnoiseBuild } from '../../workers/denoise.ts';
import { FRAME_48K, FRAME_8K, Resampler48k } from '../../workers/resample-48k.ts';
import { decodeUlaw } from '../../adapters/kit/ulaw.ts';

interface EmscriptenRnnoise {
  _rnnoise_create(model: number): number;
  _rnnoise_destroy(st: number): void;
  _rnnoise_process_frame(st: number, outPtr: number, inPtr: number): number;
  _malloc(bytes: number): number;
  HEAPF32: Float32Array;
}

// A non-literal specifier: the package ships no types, and the test skips if it is removed.
const ORACLE_PACKAGE: string = '@echogarden/rnnoise-wasm';
const oracle = await import(ORACLE_PACKAGE)
  .then((mod: { default: () => Promise<EmscriptenRnnoise> }) => mod.default())
  .catch(() => undefined);

const fixture = (name: string): Int16Array =>
  decodeUlaw(new Uint8Array(readFileSync(new URL(`../fixtures/audio/${name}.ulaw`, import.meta.url))));

/** The old RnnoiseDenoiser.process pipeline on the echogarden module, frame by frame. */
function runOracle(m: EmscriptenRnnoise, input: Int16Array): { pcm: Int16Array; probs: Float32Array } {
  const frames = Math.floor(input.length / FRAME_8K);
  const pcm = input.slice(0, frames * FRAME_8K);
  const probs = new Float32Array(frames);
  const st = m._rnnoise_create(0);
  const inPtr = m._malloc(480 * 4);
  const outPtr = m._malloc(480 * 4);
  const rs = new Resampler48k();
  const f8 = new Float32Array(FRAME_8K);
  const f48 = new Float32Array(FRAME_48K);
  for (let f = 0; f < frames; f++) {
    const off = f * FRAME_8K;
    for (let i = 0; i < FRAME_8K; i++) f8[i] = pcm[off + i];
    rs.upsample(f8, f48);
    for (let part = 0; part < FRAME_48K; part += 480) {
      m.HEAPF32.set(f48.subarray(part, part + 480), inPtr >> 2);
      probs[f] = Math.max(probs[f], m._rnnoise_process_frame(st, outPtr, inPtr));
      f48.set(m.HEAPF32.subarray(outPtr >> 2, (outPtr >> 2) + 480), part);
    }
    rs.downsample(f48, f8);
    for (let i = 0; i < FRAME_8K; i++) pcm[off + i] = Math.max(-32768, Math.min(32767, Math.round(f8[i])));
  }
  rs.free();
  m._rnnoise_destroy(st);
  return { pcm, probs };
}

function runDenoiser(input: Int16Array): { pcm: Int16Array; probs: Float32Array } {
  const frames = Math.floor(input.length / FRAME_8K);
  const pcm = input.slice(0, frames * FRAME_8K);
  const probs = new Float32Array(frames);
  const d = new RnnoiseDenoiser();
  for (let f = 0; f < frames; f++) {
    d.process(pcm, f * FRAME_8K);
    probs[f] = d.lastVoiceProb;
  }
  d.free();
  return { pcm, probs };
}

beforeAll(async () => {
  await loadDenoisers();
});

describe('RNNoise SIMD build', () => {
  it('is the build that loaded (WebAssembly SIMD is available in Node 20)', () => {
    expect(rnnoiseBuild()).toBe('simd');
  });

  it.skipIf(!oracle)('matches the echogarden build sample for sample (±1) on a noisy call', () => {
    const input = fixture('call-3turns-pink10db');
    const ref = runOracle(oracle!, input);
    const got = runDenoiser(input);
    let maxDiff = 0;
    for (let i = 0; i < ref.pcm.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got.pcm[i] - ref.pcm[i]));
    expect(maxDiff).toBeLessThanOrEqual(1);
    let maxProbDiff = 0;
    for (let f = 0; f < ref.probs.length; f++) maxProbDiff = Math.max(maxProbDiff, Math.abs(got.probs[f] - ref.probs[f]));
    expect(maxProbDiff).toBeLessThan(1e-3);
    // Not a vacuous match: the denoiser changed the signal.
    let changed = 0;
    for (let i = 0; i < input.length && i < got.pcm.length; i++) if (got.pcm[i] !== input[i]) changed++;
    expect(changed / got.pcm.length).toBeGreaterThan(0.5);
  });

  it('keeps working after its WASM memory grows (many live states), and after they are freed', () => {
    const input = fixture('call-3turns').subarray(0, 50 * FRAME_8K);
    const first = runDenoiser(input).pcm;
    // ≈ 19 KB per state: 1000 of them outgrow the initial 16 MiB heap.
    const live = Array.from({ length: 1000 }, () => new RnnoiseDenoiser());
    // Every fresh state, including those allocated after the growth, gives the same first frame.
    for (const d of live) {
      const frame = input.slice(0, FRAME_8K);
      d.process(frame, 0);
      expect(frame).toEqual(first.subarray(0, FRAME_8K));
    }
    expect(runDenoiser(input).pcm).toEqual(first);
    for (const d of live) d.free();
    expect(runDenoiser(input).pcm).toEqual(first);
  });
});
