// The testkit's μ-law check (adapters/testkit/checks.ts) tells 8 kHz μ-law speech from the two
// mistakes an adapter author makes that decode "smooth" enough to fool a correlation test:
// quiet PCM16 bytes passed off as μ-law, and audio clipped at full scale.
import { describe, expect, it } from 'vitest';
import { analyseUlaw, ulawProblems } from '../../adapters/testkit/checks.ts';
import { encodeUlaw } from '../../adapters/kit/ulaw.ts';

const TEXT = 'Hello, this is the conformance test of the speech output.';

/** A syllable-modulated tone as PCM16 (values beyond 16 bits are clipped, as a DAC would). */
function tone(seconds: number, amp: number, hz: number, rate = 8000): Int16Array {
  const out = new Int16Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++) {
    const t = i / rate;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(amp * (0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t)) * Math.sin(2 * Math.PI * hz * t))));
  }
  return out;
}

const bytesOf = (pcm: Int16Array) => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

describe('ulawProblems', () => {
  it('accepts 8 kHz μ-law speech at normal and loud levels', () => {
    expect(ulawProblems(encodeUlaw(tone(3, 7000, 180)), TEXT)).toEqual([]);
    expect(ulawProblems(encodeUlaw(tone(3, 30000, 180)), TEXT)).toEqual([]);
  });

  it('rejects quiet 24 kHz PCM16 passed off as μ-law, which decodes smooth', () => {
    const pcm16 = bytesOf(tone(2, 60, 100, 24_000));
    const r = analyseUlaw(pcm16);
    // The premise: duration, peak and smoothness alone would let it through.
    expect(r.smoothness).toBeGreaterThanOrEqual(0.3);
    expect(r.peak).toBeGreaterThanOrEqual(500);
    expect(ulawProblems(pcm16, TEXT).join('\n')).toMatch(/looks like 16-bit PCM/);
  });

  it('rejects loud PCM16 passed off as μ-law', () => {
    expect(ulawProblems(bytesOf(tone(3, 9000, 180)), TEXT).join('\n')).toMatch(/16-bit PCM|not smooth/);
  });

  it('rejects audio clipped at full scale', () => {
    const clipped = encodeUlaw(tone(3, 200_000, 180));
    expect(analyseUlaw(clipped).smoothness).toBeGreaterThan(0.3); // smooth, loud, right length…
    expect(ulawProblems(clipped, TEXT).join('\n')).toMatch(/at full scale: clipped/); // …and flat-topped
  });
});
