// CPU per DSP-shaped task through a Piscina pool of one thread (as a DSP shard), with the
// options Piscina offers to make that cheaper: main-thread CPU (from /proc, Linux) and the whole
// process's, per task, over 5,000 tasks sent one at a time. The worker does no DSP.
//   npx tsx bench/micro/piscina-task.bench.ts [frames per task, default 20]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Piscina } from 'piscina';

const frames = Number(process.argv[2] ?? 20);
const TICKS_MS = 10; // USER_HZ 100

function mainThreadCpuMs(): number {
  const s = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICKS_MS;
}

const variants: Array<[string, Record<string, unknown>]> = [
  ['defaults (as workers/shards.ts)', {}],
  ['recordTiming: false', { recordTiming: false }],
  ["atomics: 'disabled'", { atomics: 'disabled' }],
];
if (process.env.BENCH_REVERSE) variants.reverse(); // order check
// The first pool measured came out 20-60 % dearer whichever it was (the main thread warming up): a
// first, unreported round takes that.
variants.unshift(['warm-up (not reported)', {}]);
console.log(`load average ${loadavg()[0].toFixed(2)}; ${frames} frames per task`);
console.log('| options | main thread µs/task | process µs/task |\n|---|---|---|');
for (const [name, opts] of variants) {
  const pool = new Piscina({ filename: new URL('./piscina-task-worker.mjs', import.meta.url).href, minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 1, execArgv: [], ...opts });
  const one = async () => {
    const ulaw = new Uint8Array(frames * 160);
    const ids = new Uint32Array(frames);
    const counts = new Uint32Array(frames);
    const modes = new Uint8Array(frames);
    await pool.run({ ulaw, ids, counts, modes, closed: [] }, { transferList: [ulaw.buffer, ids.buffer, counts.buffer, modes.buffer] });
  };
  for (let i = 0; i < 500; i++) await one();
  const n = 5000;
  const m0 = mainThreadCpuMs();
  const p0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await one();
  const p = process.cpuUsage(p0);
  if (name.startsWith('warm-up')) {
    await pool.destroy();
    continue;
  }
  console.log(`| ${name} | ${(((mainThreadCpuMs() - m0) * 1000) / n).toFixed(0)} | ${((p.user + p.system) / n).toFixed(0)} |`);
  await pool.destroy();
}
