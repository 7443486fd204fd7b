import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { resamplePcm16, pcm16ToUlaw8k, parseWav, wavFromUlaw, wavFromPcm16, StreamingResampler } from '../../adapters/audio.ts';
import { decodeUlaw } from '../../adapters/kit/ulaw.ts';

function sine(freq: number, rate: number, seconds: number, amp = 10000): Int16Array {
  const n = Math.round(rate * seconds);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}
function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
}
/** Frequency estimate from zero crossings (rising edges per second). */
function zeroCrossingFreq(x: Int16Array, rate: number): number {
  let c = 0;
  for (let i = 1; i < x.length; i++) if (x[i - 1] < 0 && x[i] >= 0) c++;
  return c / (x.length / rate);
}

describe('resamplePcm16', () => {
  it('keeps a 440 Hz sine at 440 Hz and its amplitude, 22050 → 8000', async () => {
    const x = sine(440, 22050, 1);
    const y = await resamplePcm16(x, 22050, 8000);
    expect(y.length).toBe(8000);
    expect(zeroCrossingFreq(y, 8000)).toBeGreaterThan(430);
    expect(zeroCrossingFreq(y, 8000)).toBeLessThan(450);
    expect(rms(y, 200, 7800)).toBeCloseTo(10000 / Math.SQRT2, -2);
  });

  it('removes content above the new Nyquist (anti-aliasing): a 6 kHz tone vanishes at 8 kHz', async () => {
    const y = await resamplePcm16(sine(6000, 24000, 0.5), 24000, 8000);
    // Without a low-pass it would alias to 2 kHz at full level (≈ 7070 RMS).
    expect(rms(y, 100, y.length - 100)).toBeLessThan(100);
  });

  it('upsamples too, and the streaming resampler matches the one-shot result', async () => {
    const x = sine(300, 8000, 0.5);
    expect((await resamplePcm16(x, 8000, 16000)).length).toBe(8000);
    const whole = await resamplePcm16(x, 8000, 16000);
    const r = await StreamingResampler.create(8000, 16000);
    const parts: number[] = [];
    for (let o = 0; o < x.length; o += 333) parts.push(...r.push(x.subarray(o, o + 333)));
    parts.push(...r.flush());
    r.destroy();
    expect(parts.length).toBe(whole.length);
    expect(Math.max(...parts.map((v, i) => Math.abs(v - whole[i])))).toBeLessThanOrEqual(1);
  });

  it('rejects nonsense rates clearly', async () => {
    await expect(resamplePcm16(new Int16Array(10), 0, 8000)).rejects.toThrow(/fromRate/);
    await expect(resamplePcm16(new Int16Array(10), 8000, 7.5)).rejects.toThrow(/toRate/);
  });
});

describe('pcm16ToUlaw8k', () => {
  it('produces 8 kHz μ-law whose decoded level matches the input', async () => {
    const u = await pcm16ToUlaw8k(sine(500, 16000, 0.5), 16000);
    expect(u.length).toBe(4000);
    const back = decodeUlaw(u);
    expect(rms(back, 100, 3900)).toBeGreaterThan(6500);
    expect(rms(back, 100, 3900)).toBeLessThan(7600);
  });
});

describe('WAV', () => {
  it('round-trips μ-law through wavFromUlaw/parseWav', () => {
    const u = new Uint8Array(801).map((_, i) => (i * 37) & 0xff);
    const w = parseWav(wavFromUlaw(u));
    expect(w).toMatchObject({ sampleRate: 8000, channels: 1, format: 'ulaw' });
    expect(Array.from(w.samples)).toEqual(Array.from(u));
  });

  it('round-trips PCM16 and reads the fixture WAV like its headerless twin', () => {
    const p = sine(100, 8000, 0.1);
    const w = parseWav(wavFromPcm16(p, 8000));
    expect(w.format).toBe('pcm16');
    expect(Array.from(w.samples)).toEqual(Array.from(p));
    const wav = parseWav(new Uint8Array(readFileSync(new URL('../fixtures/audio/tts-en-hours.wav', import.meta.url))));
    const raw = new Uint8Array(readFileSync(new URL('../fixtures/audio/tts-en-hours.ulaw', import.meta.url)));
    expect(wav.sampleRate).toBe(8000);
    expect(wav.samples.length).toBe(raw.length);
  });

  it('gives clear errors on bad input', () => {
    expect(() => parseWav(new Uint8Array(4))).toThrow(/shorter than a RIFF header/);
    expect(() => parseWav(new TextEncoder().encode('RIFF\0\0\0\0AVI LIST\0\0\0\0'))).toThrow(/expected "RIFF…WAVE"/);
    const noData = wavFromUlaw(new Uint8Array(10)).slice(0, 46); // header cut before the data chunk
    expect(() => parseWav(noData)).toThrow(/no data chunk/);
    const adpcm = wavFromUlaw(new Uint8Array(10));
    adpcm[20] = 2; // format tag 2 = MS ADPCM
    expect(() => parseWav(adpcm)).toThrow(/unsupported WAV encoding: format tag 2/);
  });
});
