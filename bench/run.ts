// `npm run bench [-- --profile quick|full] [--only micro,load,sweep,compare]`
//   [--settings vad,spectral,rnnoise] [--steps 800,1000] [--hold S]
//   [--engine-env KEY=VALUE,…] [--node-flags "--flag …"]
// --settings/--steps/--hold narrow the sweep (the steps replace every chosen setting's list;
// --hold sets the seconds measured per step); --engine-env sets variables for every engine
// the bench starts (e.g. CACHE_EMBED_THREADS=1); --node-flags replaces the engine's Node/V8
// flags (default: npm start's, bench/load/procs.ts) for A/B runs, e.g. --node-flags="".
// Runs, in one invocation on this machine: the micro-benchmarks (tinybench), a load run
// (media + ConversationRelay calls), the capacity sweep per DSP setting, and the side-by-side
// comparisons; writes bench/results/bench.json, bench/results/bench-summary.md and the charts
// (latency.svg, capacity.svg, + .png when chromium is present). Progress goes to stderr.
// The engine and the load generator run as two separate processes (bench/load/procs.ts).
import { spawn } from 'node:child_process';
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runEnginePathBenches, type MicroRow } from './micro/engine-paths.bench.ts';
import { startEngine, startGenerator } from './load/procs.ts';
import { idleRss, measurePoint, type Point } from './load/measure.ts';
import { runSweep, FRAME_LAG_LIMIT_MS, type SweepResult } from './load/sweep.ts';
import { runCompare, type PairResult } from './load/compare.ts';
import { DEFAULT_PROFILE, PROFILE_SOURCES } from './load/sim-providers.ts';
import { lineChart, cdf, writeChart } from './chart.ts';
import type { Percentiles } from './load/stats.ts';

const PROFILES = {
  // Quick: a few minutes. The sweep stops at the first failing step; compare runs 5 engines.
  quick: {
    micro: { timeMs: 200, cacheSizes: '2000', cacheCycles: '5000' },
    load: { n: 100, relay: 20, rampMs: 2000, settleMs: 6000, holdMs: 24_000 },
    sweep: { rampMs: 2000, settleMs: 3000, holdMs: 6000, steps: { vad: [250, 500, 700, 850, 1000], spectral: [250, 500, 700, 850, 1000], rnnoise: [25, 50, 75, 100, 150] } },
    compare: { n: 100, rampMs: 2000, settleMs: 3000, holdMs: 10_000 },
  },
  full: {
    micro: { timeMs: 1000, cacheSizes: '10000,100000', cacheCycles: '100000' },
    load: { n: 300, relay: 50, rampMs: 10_000, settleMs: 20_000, holdMs: 120_000 },
    sweep: { rampMs: 8000, settleMs: 10_000, holdMs: 30_000, steps: { vad: [100, 250, 500, 750, 1000, 1250, 1500, 2000], spectral: [100, 250, 500, 750, 1000, 1250, 1500, 2000], rnnoise: [50, 100, 150, 200, 250, 300, 400] } },
    compare: { n: 200, rampMs: 6000, settleMs: 15_000, holdMs: 60_000 },
  },
} as const;

const { values: args } = parseArgs({
  options: {
    profile: { type: 'string', default: 'quick' },
    only: { type: 'string' },
    settings: { type: 'string' },
    steps: { type: 'string' },
    'engine-env': { type: 'string' },
    hold: { type: 'string' },
    'node-flags': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n'));
  process.exit(0);
}
if (!(args.profile! in PROFILES)) {
  console.error(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
  process.exit(2);
}
const profileName = args.profile as keyof typeof PROFILES;
const P = PROFILES[profileName];
const parts = new Set((args.only ?? 'micro,load,sweep,compare').split(','));
for (const p of parts) if (!['micro', 'load', 'sweep', 'compare'].includes(p)) {
  console.error(`--only takes micro, load, sweep, compare; got ${p}`);
  process.exit(2);
}

const sweepSettings = args.settings?.split(',');
const known = ['vad', 'spectral', 'rnnoise'];
if (sweepSettings?.some((x) => !known.includes(x))) {
  console.error(`--settings takes ${known.join(', ')}; got ${args.settings}`);
  process.exit(2);
}
const sweepSteps = args.steps?.split(',').map(Number);
if (sweepSteps?.some((n) => !(Number.isInteger(n) && n > 0))) {
  console.error(`--steps takes positive integers, e.g. 800,1000; got ${args.steps}`);
  process.exit(2);
}
const engineEnv: Record<string, string> = {};
for (const kv of args['engine-env']?.split(',') ?? []) {
  const i = kv.indexOf('=');
  if (i <= 0) {
    console.error(`--engine-env takes KEY=VALUE pairs; got ${kv}`);
    process.exit(2);
  }
  engineEnv[kv.slice(0, i)] = kv.slice(i + 1);
}
Object.assign(process.env, engineEnv); // every engine (and generator) process inherits it
const holdS = args.hold === undefined ? undefined : Number(args.hold);
if (holdS !== undefined && !(holdS > 0 && holdS <= 600)) {
  console.error(`--hold takes seconds, 1..600; got ${args.hold}`);
  process.exit(2);
}
if (args['node-flags'] !== undefined) process.env.BENCH_ENGINE_NODE_FLAGS = args['node-flags'];

// A narrowed run (--only, --settings, --steps, --hold, --engine-env, --node-flags) writes custom-* files, so it never
// replaces the results of the whole suite that bench/README.md quotes.
const custom = [args.only, sweepSettings, sweepSteps, holdS, args['node-flags']].some((x) => x !== undefined) || Object.keys(engineEnv).length > 0;
const DIR = fileURLToPath(new URL('./results/', import.meta.url));
const RESULTS = DIR + (custom ? 'custom-' : '');
mkdirSync(DIR, { recursive: true });
const t0 = Date.now();
const progress = (msg: string) => console.error(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

function sh(cmd: string): string {
  try {
    return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

const machine = {
  nproc: sh('nproc') || String(availableParallelism()),
  lscpu: sh('lscpu | head -n 15'),
  cpuModel: cpus()[0]?.model,
  memGb: Math.round(totalmem() / 1e9),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};

/** Runs another helper's bench file as a child process; keeps its output and its JSON result. */
async function external(file: string, json: string, env: Record<string, string>, timeoutMs: number): Promise<{ file: string; ok: boolean; output: string; result?: unknown; note?: string }> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  if (!existsSync(path)) return { file, ok: false, output: '', note: 'not present in this checkout' };
  progress(`micro: ${file}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, path], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const jsonPath = fileURLToPath(new URL(json, import.meta.url));
      let result: unknown;
      try {
        result = code === 0 && existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) : undefined;
      } catch {
        result = undefined;
      }
      resolve({ file, ok: code === 0, output: output.slice(-6000), result, note: code === 0 ? undefined : `exited with ${code ?? 'a signal (timeout)'}` });
    });
  });
}

interface LoadResult {
  config: Record<string, unknown>;
  point: Point;
  idleRssMb: number;
}

async function runLoad(): Promise<LoadResult> {
  const o = P.load;
  progress(`load: ${o.n} media calls + ${o.relay} relay calls, default engine (uWS, DSP pool, VAD only, cache on, hedging on)`);
  const engine = await startEngine({});
  const gen = await startGenerator({ baseUrl: engine.baseUrl, mediaUrl: engine.mediaUrl, reports: true, seed: 3 });
  try {
    const idle = await idleRss(engine);
    gen.relayTarget(o.relay, o.rampMs);
    const point = await measurePoint(engine, gen, { n: o.n, rampMs: o.rampMs, settleMs: o.settleMs, holdMs: o.holdMs, idleRssBytes: idle, samples: true, onProgress: progress });
    return { config: { ...engine.info, relayCalls: o.relay }, point, idleRssMb: Math.round(idle / 1048576) };
  } finally {
    await gen.stop();
    await engine.stop();
  }
}

// ------------------------------------------------------------------------------ run

const out: Record<string, unknown> = { argv: process.argv.slice(2), engineEnv, profile: profileName, startedAt: new Date(t0).toISOString(), machine, simulatedProviders: { profile: DEFAULT_PROFILE, sources: PROFILE_SOURCES } };
progress(`profile ${profileName}; machine: ${machine.nproc} cores (${machine.cpuModel}), node ${machine.node}`);

let micro: { engine: MicroRow[]; external: Awaited<ReturnType<typeof external>>[] } | undefined;
if (parts.has('micro')) {
  progress('micro: engine hot paths (frame parse, frame encode, sentence chunking)');
  micro = { engine: await runEnginePathBenches(P.micro.timeMs), external: [] };
  micro.external.push(await external('./micro/dsp.bench.ts', './results/dsp-micro.json', {}, 180_000));
  // The quick profile's smaller cache run keeps its own file; cache.json holds the full run bench/README.md quotes.
  const cacheOut = profileName === 'quick' ? 'cache-quick.json' : 'cache.json';
  micro.external.push(await external('./micro/cache.bench.ts', `./results/${cacheOut}`, { BENCH_CACHE_SIZES: P.micro.cacheSizes, BENCH_CACHE_CYCLES: P.micro.cacheCycles, BENCH_CACHE_OUT: cacheOut }, profileName === 'quick' ? 240_000 : 3_600_000));
  out.micro = micro;
}
let load: LoadResult | undefined;
if (parts.has('load')) out.load = load = await runLoad();
let sweep: SweepResult[] | undefined;
if (parts.has('sweep')) {
  const steps = Object.fromEntries(Object.entries(P.sweep.steps).map(([k, v]) => [k, sweepSteps ?? [...v]]));
  out.sweep = sweep = await runSweep({ ...P.sweep, ...(holdS ? { holdMs: holdS * 1000 } : {}), steps, settings: sweepSettings, progress });
}
let compare: PairResult[] | undefined;
if (parts.has('compare')) out.compare = compare = await runCompare({ ...P.compare, progress });
out.durationS = Math.round((Date.now() - t0) / 1000);

// ------------------------------------------------------------------------------ charts

const charts: string[] = [];
if (load?.point.gen.samples) {
  const s = load.point.gen.samples;
  const series = [
    { name: 'turn (engine)', points: cdf(s.turnMs) },
    { name: 'STT final', points: cdf(s.sttMs) },
    { name: 'response start', points: cdf(s.responseMs) },
    { name: 'TTS first byte', points: cdf(s.ttsMs) },
    { name: 'engine overhead', points: cdf(s.overheadMs) },
    { name: 'caller-perceived', points: cdf(s.callerLatencyMs) },
  ];
  const xMax = Math.max(...(['turnMs', 'callerLatencyMs'] as const).map((k) => [...s[k]].sort((a, b) => a - b)[Math.floor(s[k].length * 0.995)] ?? 0), 100);
  charts.push(...(await writeChart(`${RESULTS}latency.svg`, lineChart({ title: `Turn latency distribution (${load.point.n} calls, simulated providers)`, xLabel: 'ms', yLabel: 'percentile', series, xMax, yMax: 100 }))));
}
if (sweep?.length) {
  const series = sweep.map((r) => ({ name: `${r.setting} (cap ${r.capacity})`, points: r.points.map((p) => [p.n, p.frameLagMs.p99 ?? NaN] as [number, number]) }));
  const yMax = Math.min(100, Math.max(FRAME_LAG_LIMIT_MS * 2, ...sweep.flatMap((r) => r.points.map((p) => p.frameLagMs.p99 ?? 0))));
  charts.push(...(await writeChart(`${RESULTS}capacity.svg`, lineChart({ title: 'Capacity: frame lag p99 vs concurrent calls, per DSP setting', xLabel: 'concurrent calls', yLabel: 'frame lag p99 (ms)', series, hLines: [{ y: FRAME_LAG_LIMIT_MS, label: `${FRAME_LAG_LIMIT_MS} ms limit`, color: '#d62728' }], yMax, markers: true }))));
}
out.charts = charts.map((c) => c.slice(DIR.length));

// ------------------------------------------------------------------------------ summary

const f = (v: number | null | undefined, d = 0) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
const prow = (name: string, p: Percentiles) => `| ${name} | ${p.n} | ${f(p.p50)} | ${f(p.p95)} | ${f(p.p99)} | ${f(p.p999)} | ${f(p.max)} |`;
const md: string[] = [];
md.push(`# Benchmark results (${profileName} profile)`, '');
const argv = process.argv.slice(2).join(' ');
md.push(`Run \`npm run bench${argv ? ` -- ${argv}` : ''}\` on ${new Date(t0).toISOString()}, ${out.durationS} s in total.`, '');
md.push(`Machine: ${machine.nproc} cores, ${machine.cpuModel}, ${machine.memGb} GB RAM, Node ${machine.node}, ${machine.platform}. The engine and the load generator share this machine, in separate processes.`, '');
md.push('Providers are **simulated** (bench/load/sim-providers.ts): the latencies below include provider waits drawn from distributions based on approximate published figures, not real provider calls. Engine overhead and frame lag are the engine\'s own.', '');
if (load) {
  const p = load.point;
  const g = p.gen;
  md.push(`## Load run: ${p.n} media calls + ${g.relay.target} relay calls, ${p.holdS} s measured`, '');
  md.push('Per-turn latency from the engine\'s per-call reports (docs/architecture.md, "Latency"), ms:', '');
  md.push('| stage | n | p50 | p95 | p99 | p99.9 | max |', '|---|---|---|---|---|---|---|');
  md.push(prow('turn (speechEnd → firstAudioSent)', g.engine.turnMs), prow('STT final', g.engine.sttMs), prow('response start (cache or LLM 1st token→1st sentence)', g.engine.responseMs), prow('TTS first byte', g.engine.ttsMs), prow('send', g.engine.sendMs), prow('engine overhead', g.engine.overheadMs), prow('endpointing hangover (not in turn)', g.engine.hangoverMs));
  md.push(prow('caller-perceived (end of speech → first audio, incl. hangover)', g.callerLatencyMs), prow('relay: prompt → first token', g.relay.firstTokenMs), '');
  md.push(`Turns by source: ${Object.entries(g.engine.turnsBySource).map(([k, v]) => `${k} ${v}`).join(', ') || '–'}.`, '');
  md.push('| figure | value |', '|---|---|');
  md.push(`| frame lag p50 / p99 / p99.9 (ms) | ${f(p.frameLagMs.p50, 2)} / ${f(p.frameLagMs.p99, 2)} / ${f(p.frameLagMs.p999, 2)} |`);
  md.push(`| engine CPU (cores, all threads) | ${f(p.engineCores, 2)} |`);
  md.push(`| engine RSS idle → loaded (MB) | ${load.idleRssMb} → ${p.engineRssMb} |`);
  md.push(`| memory per call (KB, RSS delta / calls) | ${f(p.rssPerCallKb)} |`);
  md.push(`| calls completed / failed (in window) | ${g.calls.completed} / ${g.calls.failed} ${Object.keys(g.calls.failures).length ? JSON.stringify(g.calls.failures) : ''} |`);
  md.push(`| caller turns answered / unanswered | ${g.turns.answered} / ${g.turns.failed} |`);
  md.push(`| relay calls / failed / turns unanswered | ${g.relay.calls} / ${g.relay.failed} / ${g.relay.unanswered} |`);
  md.push(`| marks received / echoed | ${g.marks.received} / ${g.marks.echoed} |`);
  md.push(`| barge-ins (clear) / reaction p50 / p95 (ms, from overlap start; includes BARGE_IN_MIN_SPEECH_MS) | ${g.bargeIns.clears} / ${f(g.bargeIns.reactionMs.p50)} / ${f(g.bargeIns.reactionMs.p95)} |`);
  md.push(`| load generator CPU (cores) / its timer lag p99 (ms) | ${f(p.generatorCores, 2)} / ${f(g.generatorTickLagMs.p99, 1)} |`, '');
}
if (sweep) {
  md.push('## Capacity sweep', '');
  md.push(`Concurrency raised until frame lag p99 > ${FRAME_LAG_LIMIT_MS} ms or > 1 % of turns/calls fail (at least 3). Goals: ≥ 1,000 calls with the default DSP, ≥ 150 with RNNoise, ≤ 1 MB RSS per call.`, '');
  md.push('| DSP setting | capacity (calls) | per core | stopped by | engine cores at capacity | memory per call (KB, RSS slope over the steps) |', '|---|---|---|---|---|---|');
  for (const r of sweep) {
    const at = r.points.find((p) => p.n === r.capacity);
    md.push(`| ${r.label} | ${r.capacity} | ${f(r.capacity / Number(machine.nproc))} | ${r.stoppedBy} | ${f(at?.engineCores, 2)} | ${f(r.rssSlopeKbPerCall)} |`);
  }
  md.push('', 'Per-step RSS/call (delta from idle) is noisy at small counts (GC timing can make it negative); the slope over all steps is the figure to quote. "turns 0/0" at the first step: no call had finished within the short hold.');
  md.push('', '| setting | calls | frame lag p50 | p99 | event-loop delay p99 | engine cores | of which main threads | RSS MB | KB/call | turns answered/total | generator cores | generator timer lag p99 | load average |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of sweep) for (const p of r.points) md.push(`| ${r.setting} | ${p.n} | ${f(p.frameLagMs.p50, 2)} | ${f(p.frameLagMs.p99, 2)} | ${f(p.loopLagP99Ms, 2)} | ${f(p.engineCores, 2)} | ${f(p.engineMainCores, 2)} | ${p.engineRssMb} | ${f(p.rssPerCallKb)} | ${p.gen.turns.answered}/${p.gen.turns.total} | ${f(p.generatorCores, 2)} | ${f(p.gen.generatorTickLagMs.p99, 1)} | ${f(p.loadAvg, 2)} |`);
  md.push('');
}
if (compare) {
  md.push('## Side by side (same load, one setting changed; ratio = B / A)', '');
  md.push('| comparison | A | B | turn p50 A / B (ratio) | turn p95 A / B (ratio) | frame lag p99 A / B (ratio) | engine cores A / B (ratio) | other |', '|---|---|---|---|---|---|---|---|');
  for (const c of compare) {
    const a = c.a.figures;
    const b = c.b.figures;
    const other = c.id === 'cache' ? `cache-hit share ${f(a.cacheHitShare, 2)} / ${f(b.cacheHitShare, 2)}` : c.id === 'hedging' ? `hedges ${a.hedges} / ${b.hedges}; turn p99 ${f(a.turnP99)} / ${f(b.turnP99)} (${f(c.ratios.turnP99, 2)})` : `turns ${a.turnsAnswered} / ${b.turnsAnswered}`;
    md.push(`| ${c.title} | ${c.a.label} | ${c.b.label} | ${f(a.turnP50)} / ${f(b.turnP50)} (${f(c.ratios.turnP50, 2)}) | ${f(a.turnP95)} / ${f(b.turnP95)} (${f(c.ratios.turnP95, 2)}) | ${f(a.frameLagP99, 2)} / ${f(b.frameLagP99, 2)} (${f(c.ratios.frameLagP99, 2)}) | ${f(a.engineCores, 2)} / ${f(b.engineCores, 2)} (${f(c.ratios.engineCores, 2)}) | ${other} |`);
  }
  md.push('', 'DSP on the main thread processes each frame synchronously inside the socket handler, so its frame lag is the DSP time alone (the wait for the event loop is not in it); compare engine cores and turn latency for that pair.', '');
}
if (micro) {
  md.push('## Micro-benchmarks (tinybench)', '', '| hot path | p50 µs | p99 µs | ops/s |', '|---|---|---|---|');
  for (const r of micro.engine) md.push(`| ${r.task} | ${f(r.p50Us, 2)} | ${f(r.p99Us, 2)} | ${f(r.opsPerSec)} |`);
  md.push('');
  for (const e of micro.external) md.push(`- \`bench/${e.file.slice(2)}\`: ${e.ok ? 'ran; its results are in bench.json (micro.external) and its own JSON file' : `not included (${e.note})`}`);
  md.push('');
}
md.push('## Simulated provider profile (approximate published figures; inputs, not measurements)', '');
md.push('| stage | setting | source |', '|---|---|---|');
for (const [k, v] of Object.entries(DEFAULT_PROFILE)) md.push(`| ${k} | ${JSON.stringify(v)} | ${PROFILE_SOURCES[k as keyof typeof PROFILE_SOURCES]} |`);
md.push('');
if (charts.length) md.push(`Charts: ${charts.map((c) => `\`bench/results/${c.slice(DIR.length)}\``).join(', ')}.`, '');

writeFileSync(`${RESULTS}bench.json`, JSON.stringify(out, null, 2));
writeFileSync(`${RESULTS}bench-summary.md`, md.join('\n'));
progress(`done in ${out.durationS} s → bench/results/${RESULTS.slice(DIR.length)}bench.json, bench/results/${RESULTS.slice(DIR.length)}bench-summary.md${charts.length ? ', ' + charts.map((c) => c.slice(DIR.length)).join(', ') : ''}`);
console.log(md.join('\n'));
process.exit(0);
