// The canceller's band-by-band view (workers/echo-bands.ts): a caller who does not stand the turn
// detector's 6 dB out of the echo left over the whole band still shows in the bands the agent's
// voice leaves empty, and the echo alone does not. Synthetic frames: the agent's "voice" is
// harmonics of 200 Hz up to 1.2 kHz, its echo 6 dB down with 10 dB of it cancelled; the caller a
// 2.6 kHz tone about 2 dB over that residual (the frame 4 dB over the echo left).
import { describe, expect, it } from 'vitest';
import { EchoBands, type BandFrame } from '../../workers/echo-bands.ts';

const FRAME = 160;
const agent = (n: number): number => [200, 400, 600, 800, 1000, 1200].reduce((a, f, k) => a + Math.sin((2 * Math.PI * f * n) / 8000 + k) / (k + 1), 0) * 0.1;
const caller = (n: number): number => 0.024 * Math.sin((2 * Math.PI * 2600 * n) / 8000);

/** Frame `k`: the line (echo at −6 dB, the caller when `withCaller`), the output (10 dB of the echo left), the reference. */
function frame(k: number, withCaller: boolean): { line: Int16Array; out: Int16Array; ref: Float64Array } {
  const line = new Int16Array(FRAME);
  const out = new Int16Array(FRAME);
  const ref = new Float64Array(FRAME);
  let noise = 12345 + k;
  for (let i = 0; i < FRAME; i++) {
    const n = k * FRAME + i;
    noise = (noise * 1103515245 + 12345) % 2 ** 31;
    const hiss = ((noise / 2 ** 31) - 0.5) * 1e-4;
    ref[i] = agent(n);
    const echo = 0.5 * ref[i];
    const c = withCaller ? caller(n) : 0;
    line[i] = Math.round((echo + c + hiss) * 32768);
    out[i] = Math.round((echo * 0.316 + c + hiss) * 32768);
  }
  return { line, out, ref };
}

const state = (echoOnly: boolean): BandFrame => ({ echoOnly, passed: false, filterTrusted: true, erle: 10, estimateK: 2 });
const power = (x: ArrayLike<number>): number => Array.from(x).reduce((a, v) => a + v * v, 0);

describe('EchoBands', () => {
  it('reports nothing before it has learnt the echo path, then little of the echo alone and most of a caller under it', () => {
    const b = new EchoBands();
    const first = frame(0, false);
    expect(b.analyse(first.line, first.out, 0, first.ref, 0, state(true))).toBe(0);
    for (let k = 1; k < 30; k++) {
      const f = frame(k, false);
      b.analyse(f.line, f.out, 0, f.ref, 0, state(true));
    }
    const echoOnly = frame(30, false);
    expect(b.analyse(echoOnly.line, echoOnly.out, 0, echoOnly.ref, 0, state(true))).toBeLessThan(0.2);
    const talk = frame(31, true);
    // Over the whole band the frame stands less than 6 dB out of the echo left in the output...
    expect(power(talk.out)).toBeLessThan(4 * power(echoOnly.out));
    // ...yet most of its energy stands out, band by band.
    expect(b.analyse(talk.line, talk.out, 0, talk.ref, 0, state(false))).toBeGreaterThan(0.5);
  });

  it('forgets the echo path on reset', () => {
    const b = new EchoBands();
    for (let k = 0; k < 30; k++) {
      const f = frame(k, false);
      b.analyse(f.line, f.out, 0, f.ref, 0, state(true));
    }
    b.reset();
    const talk = frame(31, true);
    expect(b.analyse(talk.line, talk.out, 0, talk.ref, 0, state(false))).toBe(0);
  });
});
