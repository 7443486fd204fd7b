// DSP micro-benchmarks (tinybench): codec, VAD, denoisers and a whole frame per 20 ms frame,
// then the shard round trip (one frame, idle shard) and batched throughput through the shards.
//   npx tsx bench/micro/dsp.bench.ts        → prints a table, writes bench/results/dsp-micro.json
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Bench } from 'tinybench';
import { CallDsp, loadDsp } from '../../workers/dsp-core.ts';
import { RnnoiseDenoiser, SpectralDenoiser } from '../../workers/denoise.ts';
import { DspShards } from '../../workers/shards.ts';
import { decodeUlaw, encodeUlaw } from '../../adapters/kit/ulaw.ts';
import { WebRtcVad } from '../../workers/vad.ts';
import type { DspChannel } from '../../workers/types.ts';

await loadDsp();
const ulaw = new Uint8Array(readFileSync(new URL('../../test/fixtures/audio/call-3turns-pink10db.ulaw', import.meta.url)));
const FRAMES = Math.floor(ulaw.length / 160);
let at = 0;
/** Walks through real audio so the VAD/denoisers see speech and noise, not one frame. */
const nextFrame = (): number => {
  const off = at * 160;
  at = (at + 1) % FRAMES;
  return off;
};
const frame = (): Uint8Array => {
  const off = nextFrame();
  return ulaw.subarray(off, off + 160);
};

const pcm = new Int16Array(160);
const out = new Uint8Array(160);
const vad = new WebRtcVad(2);
const spectral = new SpectralDenoiser();
const rnnoise = new RnnoiseDenoiser();
const calls = {
  off: new CallDsp({ denoise: 'off', vadMode: 2 }),
  spectral: new CallDsp({ denoise: 'spectral', vadMode: 2 }),
  rnnoise: new CallDsp({ denoise: 'rnnoise', vadMode: 2 }),
};

const bench = new Bench({ time: 400, warmupTime: 100 });
bench
  .add('μ-law decode + encode (160 B)', () => {
    decodeUlaw(frame(), pcm);
    encodeUlaw(pcm, out);
  })
  .add('WebRTC VAD (20 ms)', () => {
    decodeUlaw(frame(), pcm);
    vad.isSpeech(pcm);
  })
  .add('denoise spectral (20 ms)', () => {
    decodeUlaw(frame(), pcm);
    spectral.process(pcm, 0);
  })
  .add('denoise rnnoise incl. 8k↔48k (20 ms)', () => {
    decodeUlaw(frame(), pcm);
    rnnoise.process(pcm, 0);
  })
  .add('whole frame, denoise=off', () => {
    calls.off.process(ulaw, nextFrame(), pcm, 0);
  })
  .add('whole frame, denoise=spectral', () => {
    calls.spectral.process(ulaw, nextFrame(), pcm, 0);
  })
  .add('whole frame, denoise=rnnoise', () => {
    calls.rnnoise.process(ulaw, nextFrame(), pcm, 0);
  });
await bench.run();

// Shard round trip: one frame on an idle shard, push → onFrames. Untimed 6 ms before each
// push, so the shard's minimum gap between batches (4 ms) has passed, as on a quiet shard.
const shards = new DspShards({ threads: 2, defaults: { denoise: 'spectral', vadMode: 2 } });
let resolveOne: (() => void) | null = null;
const single = shards.open('rt', () => resolveOne?.());
const rt = new Bench({ time: 1000, warmupTime: 200 });
rt.add(
  'shard round trip, 1 frame (idle shard)',
  async () => {
    const done = new Promise<void>((r) => (resolveOne = r));
    single.push(frame());
    await done;
  },
  { beforeEach: () => new Promise<void>((r) => setTimeout(r, 6)) },
);
await rt.run();
single.close();

// Lock-step throughput: N calls push one frame each, wait for all results, repeat.
const N = 200;
let pending = 0;
let resolveRound: (() => void) | null = null;
const chans: DspChannel[] = [];
for (let i = 0; i < N; i++) {
  chans.push(
    shards.open(`c${i}`, (fs) => {
      pending -= fs.length;
      if (pending === 0) resolveRound?.();
    }),
  );
}
const ROUNDS = 100;
const before = shards.stats();
const t0 = performance.now();
for (let r = 0; r < ROUNDS; r++) {
  pending = N;
  const round = new Promise<void>((res) => (resolveRound = res));
  const f = frame();
  for (const ch of chans) ch.push(f);
  await round;
}
const sec = (performance.now() - t0) / 1000;
const st = shards.stats();
await shards.close();

const rows = [...bench.tasks, ...rt.tasks].map((t) => {
  const r = t.result as unknown as { latency?: { mean: number; p50?: number; p99?: number } };
  return {
    name: t.name,
    meanUs: r.latency ? Math.round(r.latency.mean * 1000 * 100) / 100 : null,
    p50Us: r.latency?.p50 !== undefined ? Math.round(r.latency.p50 * 1000 * 100) / 100 : null,
    p99Us: r.latency?.p99 !== undefined ? Math.round(r.latency.p99 * 1000 * 100) / 100 : null,
  };
});
const throughput = {
  calls: N,
  rounds: ROUNDS,
  framesPerSec: Math.round((N * ROUNDS) / sec),
  tasks: st.tasks - before.tasks,
  framesPerTask: Math.round(((st.framesProcessed - before.framesProcessed) / Math.max(1, st.tasks - before.tasks)) * 10) / 10,
  realtimeCallsPerCore: null as number | null,
};
const spectralUs = rows.find((r) => r.name === 'whole frame, denoise=spectral')?.meanUs;
if (spectralUs) throughput.realtimeCallsPerCore = Math.floor(20_000 / spectralUs);

console.log('| benchmark | mean µs | p50 µs | p99 µs |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.meanUs} | ${r.p50Us} | ${r.p99Us} |`);
console.log(
  `\nshards (2 threads, spectral), lock-step: ${N} calls × ${ROUNDS} rounds → ${throughput.framesPerSec} frames/s, ` +
    `${throughput.framesPerTask} frames per task; whole-frame spectral cost ⇒ ≈ ${throughput.realtimeCallsPerCore} real-time calls per core (DSP only)`,
);
mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../results/dsp-micro.json', import.meta.url),
  JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, cpus: availableParallelism(), rows, throughput }, null, 2) + '\n',
);
vad.free();
spectral.free();
rnnoise.free();
for (const c of Object.values(calls)) c.free();
