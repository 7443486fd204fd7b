// Checks the conformance suite applies, exported so adapter authors can use them directly:
// stream timing, and whether bytes look like 8 kHz μ-law speech rather than PCM16, silence,
// clipped audio or audio at the wrong rate.
import { decodeUlaw } from '../kit/ulaw.ts';

export interface StreamTiming<T> {
  items: T[];
  /** ms from the call to the first item (null: none). */
  firstMs: number | null;
  /** ms from the call to the end of the stream. */
  totalMs: number;
}

/** Drains a stream, timing its first item and its end on the monotonic clock. */
export async function measureStream<T>(stream: AsyncIterable<T>): Promise<StreamTiming<T>> {
  const t0 = performance.now();
  let firstMs: number | null = null;
  const items: T[] = [];
  for await (const item of stream) {
    if (firstMs === null) firstMs = performance.now() - t0;
    items.push(item);
  }
  return { items, firstMs, totalMs: performance.now() - t0 };
}

export interface UlawReport {
  bytes: number;
  seconds: number;
  /** Peak decoded amplitude (0..32767). */
  peak: number;
  /** Lag-1 autocorrelation of the decoded signal: speech at 8 kHz is smooth (≫ 0). */
  smoothness: number;
  /** Share of samples at μ-law's full-scale codes (±32124): clipping, or PCM16 high bytes. */
  fullScale: number;
  /**
   * Difference in bits between the byte entropies at even and odd offsets. μ-law samples are
   * alike at both; PCM16 puts low bytes (near-uniform) at one and high bytes (a few values) at
   * the other, so the gap is over a bit even for quiet PCM16 that decodes "smooth".
   */
  parityEntropyGap: number;
}

function byteEntropy(audio: Uint8Array, offset: number): number {
  const counts = new Uint32Array(256);
  let n = 0;
  for (let i = offset; i < audio.length; i += 2, n++) counts[audio[i]]++;
  let h = 0;
  for (const c of counts) if (c) h -= (c / n) * Math.log2(c / n);
  return h;
}

/** μ-law's largest magnitude (codes 0x00 and 0x80). */
const FULL_SCALE = 32124;

export function analyseUlaw(audio: Uint8Array): UlawReport {
  const pcm = decodeUlaw(audio);
  let peak = 0;
  let mean = 0;
  let full = 0;
  for (const s of pcm) {
    const a = Math.abs(s);
    peak = Math.max(peak, a);
    if (a >= FULL_SCALE) full++;
    mean += s;
  }
  mean /= pcm.length || 1;
  let num = 0;
  let den = 0;
  for (let i = 0; i < pcm.length; i++) {
    const a = pcm[i] - mean;
    den += a * a;
    if (i > 0) num += a * (pcm[i - 1] - mean);
  }
  return {
    bytes: audio.length,
    seconds: audio.length / 8000,
    peak,
    smoothness: den ? num / den : 0,
    fullScale: full / (pcm.length || 1),
    parityEntropyGap: audio.length >= 2 ? Math.abs(byteEntropy(audio, 0) - byteEntropy(audio, 1)) : 0,
  };
}

/**
 * Problems with `audio` as the spoken form of `text` in 8 kHz μ-law ([] = plausible).
 * Duration must fall between 20 ms and 500 ms per character: 24 kHz audio passed off as 8 kHz
 * comes out three times too long; silence has no peak; PCM16 bytes decode to noise (not
 * smooth) and, even when quiet enough to decode smooth, differ between even and odd bytes;
 * over 1 % of samples at full scale is clipping (speech normalised to 0 dBFS touches it far less).
 */
export function ulawProblems(audio: Uint8Array, text: string): string[] {
  const out: string[] = [];
  const r = analyseUlaw(audio);
  const min = text.length * 0.02;
  const max = text.length * 0.5 + 1;
  if (r.seconds < min || r.seconds > max) out.push(`${r.seconds.toFixed(2)} s of 8 kHz audio for ${text.length} characters is implausible (expected ${min.toFixed(2)}–${max.toFixed(2)} s)`);
  if (r.peak < 500) out.push(`audio is (nearly) silent: peak ${r.peak}`);
  if (r.smoothness < 0.3) out.push(`decoded audio is not smooth (lag-1 correlation ${r.smoothness.toFixed(2)}): not μ-law, or not 8 kHz`);
  if (r.parityEntropyGap > 1) out.push(`even and odd bytes differ (entropy gap ${r.parityEntropyGap.toFixed(2)} bits): looks like 16-bit PCM, not μ-law`);
  if (r.fullScale > 0.01) out.push(`${(r.fullScale * 100).toFixed(1)} % of samples at full scale: clipped`);
  return out;
}

/** A speech-like test utterance as 20 ms frames of 8 kHz PCM16, with per-frame speech flags. */
export function testUtterance(speechMs = 1200, silenceMs = 600): Array<{ pcm: Int16Array; speech: boolean }> {
  const frames: Array<{ pcm: Int16Array; speech: boolean }> = [];
  const total = Math.round((speechMs + silenceMs) / 20);
  for (let f = 0; f < total; f++) {
    const speech = f * 20 < speechMs;
    const pcm = new Int16Array(160);
    if (speech) {
      for (let i = 0; i < 160; i++) {
        const t = (f * 160 + i) / 8000;
        pcm[i] = Math.round(7000 * (0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t)) * Math.sin(2 * Math.PI * 180 * t));
      }
    }
    frames.push({ pcm, speech });
  }
  return frames;
}
