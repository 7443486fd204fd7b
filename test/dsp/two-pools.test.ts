// Two DSP pools with Silero VAD in one process, one after the other (as two test engines, or an
// engine restarted in place) and side by side: each pool's calls get speech frames and every pool
// stops. The second pool used to get no frames at all: once the first pool's threads exited,
// Node unloaded onnxruntime-node's addon, and the next worker could not load it again ("Module
// did not self-register"); the shards now keep it loaded (workers/silero.ts, pinOnnxRuntime).
// This file never loads Silero on its own thread, so nothing else keeps the addon loaded.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FRAME_BYTES } from '../../workers/dsp-core.ts';
import { DspShards } from '../../workers/shards.ts';
import type { DspOptions } from '../../workers/types.ts';

const SILERO: DspOptions = { denoise: 'off', vadMode: 2, vad: 'silero' };
const audio = new Uint8Array(readFileSync(new URL('../fixtures/audio/call-3turns.ulaw', import.meta.url)));
const FRAMES = 300; // 6 s: silence, then the first turn

/** One call through the pool: how many frames came back and how many of them were speech. */
async function oneCall(shards: DspShards, callId: string): Promise<{ frames: number; speech: number; restarts: number }> {
  let frames = 0;
  let speech = 0;
  const ch = shards.open(callId, (fs) => {
    frames += fs.length;
    speech += fs.filter((f) => f.speech).length;
  });
  for (let f = 0; f < FRAMES; f++) ch.push(audio.subarray(f * FRAME_BYTES, (f + 1) * FRAME_BYTES));
  // Not a timing assertion: a generous bound so a pool that never answers fails instead of hanging.
  const end = Date.now() + 30_000;
  while (frames < FRAMES && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  ch.close();
  return { frames, speech, restarts: shards.stats().workerRestarts };
}

describe('two DSP pools with Silero in one process', () => {
  it('one after the other: the second pool gets speech frames too, and both stop', async () => {
    const first = new DspShards({ threads: 1, defaults: SILERO });
    const a = await oneCall(first, 'first');
    await first.close();
    const second = new DspShards({ threads: 1, defaults: SILERO });
    const b = await oneCall(second, 'second');
    await second.close();
    expect(a.frames).toBe(FRAMES);
    expect(a.speech).toBeGreaterThan(50);
    expect(b).toEqual(a); // same audio, same model, fresh state: the same answer
  });

  it('side by side, then stopped together', async () => {
    const pools = [new DspShards({ threads: 1, defaults: SILERO }), new DspShards({ threads: 1, defaults: SILERO })];
    const rs = await Promise.all(pools.map((p, i) => oneCall(p, `call-${i}`)));
    await Promise.all(pools.map((p) => p.close()));
    for (const r of rs) {
      expect(r.frames).toBe(FRAMES);
      expect(r.speech).toBeGreaterThan(50);
    }
    expect(rs[1]).toEqual(rs[0]);
  });
});
