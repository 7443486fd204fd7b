// VAD and denoisers on the labelled call fixtures, through the same per-call code the workers run.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CallDsp, decodeOptions, encodeOptions, loadDsp } from '../../workers/dsp-core.ts';
import { Fft } from '../../workers/fft.ts';
import { ULAW_TO_PCM } from '../../adapters/kit/ulaw.ts';
import { siSnr, telephoneBand, utterances } from '../../bench/dsp-eval.ts';
import type { DenoiseMode } from '../../workers/types.ts';

interface Labels {
  speech: { startMs: number; endMs: number }[];
}
const audio = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/audio/${name}.ulaw`, import.meta.url)));
const labels = (name: string): Labels =>
  JSON.parse(readFileSync(new URL(`../fixtures/audio/${name}.labels.json`, import.meta.url), 'utf8')) as Labels;
const decode = (u: Uint8Array): Float64Array => Float64Array.from(u, (b) => ULAW_TO_PCM[b]);

function run(name: string, denoise: DenoiseMode): { flags: Uint8Array; pcm: Int16Array } {
  const u = audio(name);
  const frames = Math.floor(u.length / 160);
  const dsp = new CallDsp({ denoise, vadMode: 2 });
  const pcm = new Int16Array(frames * 160);
  const flags = new Uint8Array(frames);
  for (let f = 0; f < frames; f++) {
    dsp.process(u, f * 160, pcm, f * 160);
    flags[f] = dsp.lastSpeech ? 1 : 0;
  }
  dsp.free();
  return { flags, pcm };
}

beforeAll(async () => {
  await loadDsp();
});

describe('VAD on the labelled fixtures', () => {
  for (const name of ['call-3turns', 'call-3turns-pink10db']) {
    for (const denoise of ['off', 'spectral', 'rnnoise'] as const) {
      it(`${name}, denoise=${denoise}: every labelled utterance is found, nothing spurious`, () => {
        const { flags } = run(name, denoise);
        const found = utterances(flags);
        const truth = labels(name).speech;
        for (const l of truth) {
          const overlap = found.filter((d) => d.startMs < l.endMs && l.startMs < d.endMs);
          expect(overlap.length, `utterance ${l.startMs}-${l.endMs} ms`).toBeGreaterThan(0);
          // Most of the labelled span is covered by detected speech.
          const covered = overlap.reduce((a, d) => a + Math.min(d.endMs, l.endMs) - Math.max(d.startMs, l.startMs), 0);
          expect(covered / (l.endMs - l.startMs)).toBeGreaterThan(0.7);
        }
        const spurious = found.filter((d) => !truth.some((l) => d.startMs < l.endMs && l.startMs < d.endMs));
        if (name === 'call-3turns' || denoise !== 'rnnoise') expect(spurious).toEqual([]);
        // Frames well away from any label (300 ms margin) are mostly non-speech.
        let quiet = 0;
        let flagged = 0;
        for (let f = 0; f < flags.length; f++) {
          const t = f * 20 + 10;
          if (truth.some((l) => t > l.startMs - 300 && t < l.endMs + 300)) continue;
          quiet++;
          flagged += flags[f];
        }
        expect(flagged / quiet).toBeLessThan(0.1);
      });
    }
  }
});

describe('denoisers', () => {
  const clean = decode(audio('call-3turns'));
  const noisy = audio('call-3turns-pink10db');
  const inSnr = siSnr(clean, decode(noisy)).db;
  const inBand = siSnr(telephoneBand(clean), telephoneBand(decode(noisy))).db;

  it('spectral raises SNR on the 10 dB fixture', () => {
    const out = Float64Array.from(run('call-3turns-pink10db', 'spectral').pcm);
    expect(siSnr(clean, out).db).toBeGreaterThan(inSnr + 1);
    expect(siSnr(telephoneBand(clean), telephoneBand(out)).db).toBeGreaterThan(inBand + 1);
  });

  it('rnnoise raises SNR in the telephone band on the 10 dB fixture', () => {
    const out = Float64Array.from(run('call-3turns-pink10db', 'rnnoise').pcm);
    expect(siSnr(telephoneBand(clean), telephoneBand(out)).db).toBeGreaterThan(inBand + 1);
  });

  it("'off' leaves the decoded signal untouched", () => {
    const out = run('call-3turns-pink10db', 'off').pcm;
    const ref = decode(noisy);
    let diff = 0;
    for (let i = 0; i < out.length; i++) diff += Math.abs(out[i] - ref[i]);
    expect(diff).toBe(0);
  });

  it('spectral keeps clean speech nearly intact (telephone band SDR > 25 dB)', () => {
    const out = Float64Array.from(run('call-3turns', 'spectral').pcm);
    expect(siSnr(telephoneBand(clean), telephoneBand(out)).db).toBeGreaterThan(25);
  });
});

describe('building blocks and bad input', () => {
  it('FFT puts a cosine in its bin and inverse(forward(x)) = x', () => {
    const fft = new Fft(256);
    const re = Float32Array.from({ length: 256 }, (_, i) => 1000 * Math.cos((2 * Math.PI * 8 * i) / 256) + (i % 7));
    const im = new Float32Array(256);
    const orig = Float32Array.from(re);
    fft.forward(re, im);
    // N/2 × amplitude (the small i % 7 pattern adds a little to every bin)
    expect(Math.abs(Math.hypot(re[8], im[8]) - 128_000)).toBeLessThan(200);
    expect(Math.hypot(re[9], im[9])).toBeLessThan(1000);
    fft.inverse(re, im);
    for (let i = 0; i < 256; i++) expect(re[i]).toBeCloseTo(orig[i], 1);
    expect(() => new Fft(100)).toThrow(/power of two/);
  });

  it('options round-trip through their byte code and bad options are rejected clearly', () => {
    for (const denoise of ['off', 'spectral', 'rnnoise'] as const) {
      for (const vadMode of [0, 1, 2, 3] as const) {
        expect(decodeOptions(encodeOptions({ denoise, vadMode }))).toEqual({ denoise, vadMode, vad: 'webrtc' });
        for (const vad of ['webrtc', 'silero'] as const) expect(decodeOptions(encodeOptions({ denoise, vadMode, vad }))).toEqual({ denoise, vadMode, vad });
      }
    }
    expect(() => encodeOptions({ denoise: 'loud' as DenoiseMode, vadMode: 2 })).toThrow(/denoise/);
    expect(() => encodeOptions({ denoise: 'off', vadMode: 7 as 2 })).toThrow(/vadMode/);
    expect(() => encodeOptions({ denoise: 'off', vadMode: 2, vad: 'cobra' as 'silero' })).toThrow(/vad/);
    expect(() => new CallDsp({ denoise: 'off', vadMode: -1 as 0 })).toThrow(/vadMode/);
  });
});
