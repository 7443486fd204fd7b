// DspShards: real Piscina worker threads (loaded through dsp-entry.mjs + tsx), real DSP.
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DspShards } from '../../workers/shards.ts';
import { CallDsp, loadDsp } from '../../workers/dsp-core.ts';
import type { DspFrame, DspOptions } from '../../workers/types.ts';

const audio = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/audio/${name}.ulaw`, import.meta.url)));
const OPTS: DspOptions = { denoise: 'spectral', vadMode: 2 };
const FRAMES = 200; // 4 s per call keeps the suite quick

let shards: DspShards | undefined;
afterEach(async () => {
  await shards?.close();
  shards = undefined;
});

beforeAll(async () => {
  await loadDsp();
});

/** What one call's audio gives when processed alone on this thread. */
function reference(u: Uint8Array, frames: number, opts: DspOptions = OPTS): { pcm: Int16Array; speech: boolean[] } {
  const dsp = new CallDsp(opts);
  const pcm = new Int16Array(frames * 160);
  const speech: boolean[] = [];
  for (let f = 0; f < frames; f++) {
    dsp.process(u, f * 160, pcm, f * 160);
    speech.push(dsp.lastSpeech);
  }
  dsp.free();
  return { pcm, speech };
}

function collector(): { frames: DspFrame[]; onFrames: (fs: DspFrame[]) => void } {
  const frames: DspFrame[] = [];
  // Copy pcm: the views share the batch buffer, which is fine, but keep the test independent of it.
  return { frames, onFrames: (fs) => frames.push(...fs.map((f) => ({ ...f, pcm: f.pcm.slice() }))) };
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const flatPcm = (fs: DspFrame[]): Int16Array => {
  const out = new Int16Array(fs.length * 160);
  fs.forEach((f, i) => out.set(f.pcm, i * 160));
  return out;
};

describe('DspShards', () => {
  it('keeps two calls on one shard apart: each matches that call processed alone', async () => {
    shards = new DspShards({ threads: 1, defaults: OPTS });
    const a = audio('call-3turns-pink10db');
    const b = audio('human-utt1');
    const frames = Math.min(FRAMES, Math.floor(b.length / 160));
    const ca = collector();
    const cb = collector();
    const cha = shards.open('A', ca.onFrames);
    const chb = shards.open('B', cb.onFrames);
    // Interleave pushes, with pauses so some frames ride alone and some share a task.
    for (let f = 0; f < frames; f++) {
      cha.push(a.subarray(f * 160, f * 160 + 160));
      chb.push(b.subarray(f * 160, f * 160 + 160));
      if (f % 37 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => ca.frames.length === frames && cb.frames.length === frames, 'both calls');
    const ra = reference(a, frames);
    const rb = reference(b, frames);
    expect(flatPcm(ca.frames)).toEqual(ra.pcm);
    expect(flatPcm(cb.frames)).toEqual(rb.pcm);
    expect(ca.frames.map((f) => f.speech)).toEqual(ra.speech);
    expect(cb.frames.map((f) => f.speech)).toEqual(rb.speech);
    // The two inputs differ, so a mix-up could not pass the checks above by accident.
    expect(ra.pcm).not.toEqual(rb.pcm);
    const st = shards.stats();
    expect(st.framesProcessed).toBe(2 * frames);
    expect(st.tasks).toBeLessThan(2 * frames); // batched: frames share tasks
  });

  it('delivers frames in push order with consecutive seq and sane timestamps', async () => {
    shards = new DspShards({ threads: 2, defaults: OPTS });
    const u = audio('call-3turns');
    const c = collector();
    const ch = shards.open('ordered', c.onFrames, { denoise: 'off' });
    for (let f = 0; f < FRAMES; f++) {
      ch.push(u.subarray(f * 160, f * 160 + 160));
      if (f % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => c.frames.length === FRAMES, 'frames');
    expect(c.frames.map((f) => f.seq)).toEqual(Array.from({ length: FRAMES }, (_, i) => i));
    for (const f of c.frames) {
      expect(f.doneAt).toBeGreaterThanOrEqual(f.arrivedAt);
      expect(f.pcm.length).toBe(160);
      expect(Number.isFinite(f.levelDb)).toBe(true);
    }
    expect(flatPcm(c.frames)).toEqual(reference(u, FRAMES, { denoise: 'off', vadMode: 2 }).pcm);
  });

  it('splits and joins odd-size pushes into 160-byte frames', async () => {
    shards = new DspShards({ threads: 1, defaults: OPTS });
    const u = audio('call-3turns-pink20db');
    const total = 50 * 160 + 77; // 50 whole frames and a partial one that stays queued
    const c = collector();
    const ch = shards.open('odd', c.onFrames);
    const sizes = [1, 159, 161, 320, 7, 500, 33];
    for (let off = 0, i = 0; off < total; i++) {
      const n = Math.min(sizes[i % sizes.length], total - off);
      ch.push(u.subarray(off, off + n));
      off += n;
    }
    ch.push(new Uint8Array(0)); // empty push is a no-op
    await until(() => c.frames.length === 50, 'whole frames');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.frames.length).toBe(50);
    expect(flatPcm(c.frames)).toEqual(reference(u, 50).pcm);
    expect(() => ch.push('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('places calls on the least-loaded shard and frees worker state on close', async () => {
    shards = new DspShards({ threads: 2, defaults: OPTS });
    const u = audio('call-3turns');
    const cols = ['c1', 'c2', 'c3', 'c4'].map((id) => ({ id, c: collector() }));
    const chans = cols.map(({ id, c }) => shards!.open(id, c.onFrames));
    expect(cols.map(({ id }) => shards!.shardOf(id))).toEqual([0, 1, 0, 1]);
    for (const ch of chans) for (let f = 0; f < 5; f++) ch.push(u.subarray(f * 160, f * 160 + 160));
    await until(() => cols.every(({ c }) => c.frames.length === 5), 'first frames');
    expect(shards.stats().shards.map((s) => s.workerCalls)).toEqual([2, 2]);
    chans[0].close();
    chans[2].close();
    chans[0].push(u.subarray(0, 160)); // late media after close is ignored
    // The close rides on the next task; the worker reports its live states in every answer.
    chans[1].push(u.subarray(0, 160));
    chans[3].push(u.subarray(0, 160));
    await until(() => shards!.stats().shards[0].workerCalls === 0, 'state freed');
    const st = shards.stats();
    expect(st.calls).toBe(2);
    expect(st.shards.map((s) => s.calls)).toEqual([0, 2]);
    expect(cols[0].c.frames.length).toBe(5);
    // A new call now goes to the emptier shard.
    shards.open('c5', () => {});
    expect(shards.shardOf('c5')).toBe(0);
    expect(() => shards!.open('c5', () => {})).toThrow(/already/);
    expect(() => shards!.open('c6', () => {}, { vadMode: 9 as 1 })).toThrow(/vadMode/);
  });

  for (const kind of ['exit', 'throw'] as const) {
    it(`recovers from a worker crash (${kind}): the call continues, the other shard is unaffected`, async () => {
      shards = new DspShards({ threads: 2, defaults: OPTS });
      const u = audio('call-3turns-pink10db');
      const victim = collector();
      const other = collector();
      const chv = shards.open('victim', victim.onFrames);
      const cho = shards.open('other', other.onFrames);
      expect(shards.shardOf('victim')).not.toBe(shards.shardOf('other'));
      const push = (ch: typeof chv, from: number, to: number): void => {
        for (let f = from; f < to; f++) ch.push(u.subarray(f * 160, f * 160 + 160));
      };
      push(chv, 0, 20);
      push(cho, 0, 20);
      await until(() => victim.frames.length === 20 && other.frames.length === 20, 'warm-up frames');

      shards.injectWorkerFault('victim', kind);
      push(chv, 20, 30); // this batch dies with the worker: dropped
      push(cho, 20, 30);
      await until(() => shards!.stats().workerRestarts === 1, 'restart counted');
      await until(() => other.frames.length === 30, 'other shard frames');
      push(chv, 30, 60); // after the crash: a fresh worker, fresh state
      push(cho, 30, 60);
      await until(() => victim.frames.length === 50 && other.frames.length === 60, 'frames after crash');

      expect(victim.frames.map((f) => f.seq)).toEqual([...Array.from({ length: 20 }, (_, i) => i), ...Array.from({ length: 30 }, (_, i) => 30 + i)]);
      // The other call never noticed: identical to processing it alone.
      expect(flatPcm(other.frames)).toEqual(reference(u, 60).pcm);
      expect(other.frames.map((f) => f.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i));
      // The victim restarted with fresh DSP state: its post-crash frames equal a new call fed from frame 30.
      const fresh = reference(u.subarray(30 * 160), 30);
      expect(flatPcm(victim.frames.slice(20))).toEqual(fresh.pcm);
      const st = shards.stats();
      expect(st.workerRestarts).toBe(1);
      expect(st.shards[shards.shardOf('other')].workerRestarts).toBe(0);
    });
  }
});
