// The in-process DSP used by the "worker pool vs main thread" comparison keeps the DspChannel
// contract: frames in push order with increasing seq, partial frames joined, the same VAD
// decisions as the per-call DSP core, and no frames after close.
import { describe, it, expect } from 'vitest';
import { createInlineDsp } from '../../bench/load/inline-dsp.ts';
import { CallDsp } from '../../workers/dsp-core.ts';
import type { DspFrame } from '../../workers/types.ts';
import { fixture } from '../support/engine.ts';

describe('inline DSP', () => {
  it('processes frames in order, joins partial frames, and matches CallDsp', async () => {
    const dsp = await createInlineDsp({ denoise: 'spectral', vadMode: 2 });
    const audio = fixture('human-utt2.ulaw').subarray(0, 160 * 50);
    const got: DspFrame[] = [];
    const ch = dsp.open('CA1', (f) => got.push(...f));
    // Odd-sized pushes: 100 + 220 + … bytes must come out as whole 160-byte frames.
    for (let o = 0; o < audio.length; o += 110) ch.push(audio.subarray(o, Math.min(o + 110, audio.length)));
    expect(got.map((f) => f.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const ref = new CallDsp({ denoise: 'spectral', vadMode: 2 });
    const pcm = new Int16Array(160);
    for (let i = 0; i < 50; i++) {
      ref.process(audio, i * 160, pcm, 0);
      expect(got[i].speech).toBe(ref.lastSpeech);
      expect(Array.from(got[i].pcm)).toEqual(Array.from(pcm));
      expect(got[i].doneAt).toBeGreaterThanOrEqual(got[i].arrivedAt);
    }
    expect(got.some((f) => f.speech)).toBe(true);
    expect(dsp.stats()).toMatchObject({ threads: 0, calls: 1, framesProcessed: 50 });
    ch.close();
    ch.push(audio.subarray(0, 160));
    expect(got).toHaveLength(50);
    expect(dsp.stats().calls).toBe(0);
    ref.free();
    await dsp.close();
  });

  it('rejects bad input clearly', async () => {
    const dsp = await createInlineDsp({ denoise: 'off', vadMode: 1 });
    expect(() => dsp.open('', () => {})).toThrow(/non-empty/);
    const ch = dsp.open('CA2', () => {});
    expect(() => dsp.open('CA2', () => {})).toThrow(/already has an open DSP channel/);
    expect(() => ch.push('nope' as unknown as Uint8Array)).toThrow(/Uint8Array/);
    await dsp.close();
  });
});
