// Soak: the engine (bench-engine.ts: the real engine, simulated providers) under a steady load
// of simulated Media Streams calls plus some ConversationRelay calls from the load generator,
// calls ending and starting all the time, for a long while. Samples the engine's RSS (/proc,
// worker threads included), V8 heap and event-loop lag (/metrics, prom-client's defaults,
// whose lag histogram restarts at each scrape) and frame lag (/metrics/live) over time, then
// drains the calls and checks the counters against what the generator did. Run through
// `npm run reliability -- --soak 30m --calls 200` (bench/reliability.ts); the CI profile is
// test/reliability/soak.test.ts.
import { writeFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { startEngine, startGenerator, sampleEngine, coresUsed, type ProcSample } from './load/procs.ts';
import type { GenStats } from './load/generator.ts';
import { lineChart, writeChart } from './chart.ts';
import { slope } from './load/sweep.ts';

export interface SoakOptions {
  durationMs: number;
  /** Concurrent Media Streams calls. */
  calls: number;
  /** Concurrent ConversationRelay calls. */
  relayCalls: number;
  sampleMs: number;
  /** Samples before this are warm-up: left out of growth and drift. */
  warmupMs: number;
  rampMs?: number;
  /** Callers' random silence before speaking, ms (generator default 6000); shorter drains faster. */
  leadMaxMs?: number;
  seed?: number;
  progress?: (msg: string) => void;
}

export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  rssMb: number;
  heapUsedMb: number;
  /** Event-loop delay since the previous sample (monitorEventLoopDelay), ms. */
  loopLagP50Ms: number;
  loopLagP99Ms: number;
  loopLagMaxMs: number;
  /** Frame lag over the last sample period (/metrics/live), ms. */
  frameLagP50Ms: number | null;
  frameLagP99Ms: number | null;
  engineCalls: number;
  engineCores: number;
  /** The machine's 1-minute load average: other work on it shows here. */
  load1: number;
  /** Share of the last 10 s in which some runnable task waited for a CPU (/proc/pressure/cpu "some avg10"), %. */
  cpuPressure: number;
}

export interface SoakResult {
  at: string;
  machine: { cpus: number; model: string | undefined; memGb: number; node: string };
  options: Omit<SoakOptions, 'progress'>;
  alive: boolean;
  samples: SoakSample[];
  /** RSS after warm-up: median of the first and last windows (each a tenth of the run after warm-up, ≥ 3 samples). */
  rss: { baselineMb: number; endMb: number; growthPct: number; slopeMbPerHour: number | null; maxMb: number };
  heap: { baselineMb: number; endMb: number; growthPct: number };
  /** Median of each third's per-sample p99 after warm-up. */
  drift: { frameLagP99Ms: [number, number]; loopLagP99Ms: [number, number]; frameDrifted: boolean; loopDrifted: boolean; drifted: boolean };
  load: { min: number; median: number; max: number };
  /** Engine CPU (cores, all threads) and the machine's CPU pressure (%), medians over the run. */
  cpu: { engineCoresMedian: number; pressureMedian: number };
  generator: GenStats;
  /**
   * Calls that failed, turns left unanswered, relay calls that failed or turns without answer. A media
   * utterance cut by the caller's own next utterance before any answer played, or whose caller hung
   * up first, is not unanswered (`mediaTurnsSuperseded`, by design: a newer input wins).
   */
  disturbed: { mediaCallsFailed: number; mediaTurnsUnanswered: number; relayCallsFailed: number; relayTurnsUnanswered: number };
  /** Media utterances with no agent audio in their window that the caller itself cut off (superseded, caller hung up). */
  mediaTurnsSuperseded: number;
  /** The engine's counters after the drain against what the generator started. */
  counters: {
    mediaStarted: number;
    mediaEnded: number;
    relayEnded: number;
    engineCallsTotal: Record<string, number>;
    engineCallsActive: number;
    protocolErrors: number;
    engineErrors: Record<string, number>;
    consistent: boolean;
    problems: string[];
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]): number => {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

/** Prometheus text → sums per metric name and label set (`name{labels}` → value). */
export function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Values of one metric by the given label (other labels summed). */
export function byLabel(m: Map<string, number>, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of m) {
    if (k !== name && !k.startsWith(name + '{')) continue;
    const l = new RegExp(`${label}="([^"]*)"`).exec(k)?.[1] ?? '';
    out[l] = (out[l] ?? 0) + v;
  }
  return out;
}

/** CPU pressure stall information (Linux ≥ 4.20), NaN where the kernel has none. */
function cpuPressure(): number {
  try {
    return Number(/some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Utterances the caller cut off itself (in its transcription or before the first audio): its next utterance began before the answer's first audio, or it hung up (bench/load/unanswered.ts). */
const SUPERSEDED = ['superseded', 'superseded-in-stt', 'caller-hung-up'];
const superseded = (g: GenStats): number => SUPERSEDED.reduce((n, k) => n + (g.turns.byKind[k as keyof GenStats['turns']['byKind']] ?? 0), 0);

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** No drift: the last third's median p99 within 25 % (or 2 ms, for small values) of the first's. */
export const DRIFT_RATIO = 1.25;
export const DRIFT_SLACK_MS = 2;

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const say = o.progress ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'weaver-soak-'));
  const engine = await startEngine({ HISTORY_PATH: join(dir, 'history.sqlite'), MAX_CALLS: String(Math.max(1000, 2 * (o.calls + o.relayCalls))) });
  const gen = await startGenerator({ baseUrl: engine.baseUrl, mediaUrl: engine.mediaUrl, reports: false, seed: o.seed ?? 11, relayGapMs: 3000, leadMaxMs: o.leadMaxMs });
  const metrics = async () => parseProm(await (await fetch(`${engine.baseUrl}/metrics`)).text());
  const samples: SoakSample[] = [];
  let alive = true;
  try {
    await metrics(); // restarts the event-loop histogram: the first sample covers its own period only
    gen.target(o.calls, o.rampMs ?? 10_000);
    if (o.relayCalls > 0) gen.relayTarget(o.relayCalls, o.rampMs ?? 10_000);
    const t0 = Date.now();
    let prev: ProcSample | null = sampleEngine(engine.info);
    while (Date.now() - t0 < o.durationMs) {
      await sleep(Math.min(o.sampleMs, o.durationMs - (Date.now() - t0)));
      const cur = sampleEngine(engine.info);
      if (!cur) {
        alive = false;
        say('the engine process is gone');
        break;
      }
      const [m, live] = await Promise.all([metrics(), engine.live(Math.max(1, Math.round(o.sampleMs / 1000)))]);
      const s: SoakSample = {
        t: round((Date.now() - t0) / 1000),
        rssMb: round(cur.rssBytes / 2 ** 20),
        heapUsedMb: round((m.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20),
        loopLagP50Ms: round((m.get('nodejs_eventloop_lag_p50_seconds') ?? NaN) * 1000, 2),
        loopLagP99Ms: round((m.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000, 2),
        loopLagMaxMs: round((m.get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000, 2),
        frameLagP50Ms: live.frameLag.p50,
        frameLagP99Ms: live.frameLag.p99,
        engineCalls: live.activeCalls,
        engineCores: prev ? round(coresUsed(prev, cur), 2) : NaN,
        load1: round(loadavg()[0], 2),
        cpuPressure: cpuPressure(),
      };
      prev = cur;
      samples.push(s);
      say(`${s.t} s: ${s.engineCalls} calls, RSS ${s.rssMb} MB, heap ${s.heapUsedMb} MB, loop lag p99 ${s.loopLagP99Ms} ms, frame lag p99 ${s.frameLagP99Ms} ms, ${s.engineCores} cores, load ${s.load1}, CPU pressure ${s.cpuPressure} %`);
    }
    // Drain: no new calls; those in flight end as they would.
    gen.target(0);
    gen.relayTarget(0);
    const generator = await waitDrained(gen);
    await sleep(1500); // the engine's end-of-call bookkeeping after the last close
    alive &&= sampleEngine(engine.info) !== null;
    const m = alive ? await metrics() : new Map<string, number>();
    return summarize(o, samples, alive, generator, m);
  } finally {
    await gen.stop();
    await engine.stop();
  }
}

/** Generator stats once every call it started (media and relay) has ended, or after 120 s. */
async function waitDrained(gen: Awaited<ReturnType<typeof startGenerator>>): Promise<GenStats> {
  let st = await gen.stats();
  for (let i = 0; i < 120 && (st.calls.completed + st.calls.failed < st.calls.started || st.relay.calls < st.relay.started); i++) {
    await sleep(1000);
    st = await gen.stats();
  }
  return st;
}

function summarize(o: SoakOptions, samples: SoakSample[], alive: boolean, generator: GenStats, m: Map<string, number>): SoakResult {
  const after = samples.filter((s) => s.t * 1000 >= o.warmupMs);
  const w = Math.max(3, Math.ceil(after.length / 10));
  const first = after.slice(0, w);
  const last = after.slice(-w);
  const rssBase = median(first.map((s) => s.rssMb));
  const rssEnd = median(last.map((s) => s.rssMb));
  const heapBase = median(first.map((s) => s.heapUsedMb));
  const heapEnd = median(last.map((s) => s.heapUsedMb));
  const k = Math.floor(after.length / 3);
  const thirds = (f: (s: SoakSample) => number | null): [number, number] => [round(median(after.slice(0, k).map((s) => f(s) ?? NaN)), 2), round(median(after.slice(-k).map((s) => f(s) ?? NaN)), 2)];
  const frame = thirds((s) => s.frameLagP99Ms);
  const loop = thirds((s) => s.loopLagP99Ms);
  const drifts = ([a, b]: [number, number]) => !(b <= Math.max(a * DRIFT_RATIO, a + DRIFT_SLACK_MS));
  const drifted = drifts(frame) || drifts(loop);
  const loads = samples.map((s) => s.load1);

  const callsTotal = byLabel(m, 'weaver_calls_total', 'mode');
  const relayEnded = generator.relay.calls;
  const mediaEnded = generator.calls.completed + generator.calls.failed;
  const problems: string[] = [];
  if (!alive) problems.push('the engine process died');
  if (mediaEnded !== generator.calls.started) problems.push(`generator: ${generator.calls.started} media calls started, ${mediaEnded} ended`);
  if (relayEnded !== generator.relay.started) problems.push(`generator: ${generator.relay.started} relay calls started, ${relayEnded} ended`);
  if ((callsTotal.media ?? 0) !== mediaEnded) problems.push(`weaver_calls_total{mode="media"} ${callsTotal.media ?? 0} ≠ ${mediaEnded} media calls the generator ended`);
  if ((callsTotal.relay ?? 0) !== relayEnded) problems.push(`weaver_calls_total{mode="relay"} ${callsTotal.relay ?? 0} ≠ ${relayEnded} relay calls the generator ended`);
  const active = sum(byLabel(m, 'weaver_calls_active', 'mode'));
  if (active !== 0) problems.push(`weaver_calls_active ${active} after the drain`);
  const protocolErrors = sum(byLabel(m, 'weaver_protocol_errors_total', 'kind'));
  if (protocolErrors !== 0) problems.push(`${protocolErrors} protocol errors counted for well-formed calls`);

  return {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    options: { durationMs: o.durationMs, calls: o.calls, relayCalls: o.relayCalls, sampleMs: o.sampleMs, warmupMs: o.warmupMs, rampMs: o.rampMs, leadMaxMs: o.leadMaxMs, seed: o.seed },
    alive,
    samples,
    rss: { baselineMb: rssBase, endMb: rssEnd, growthPct: round((100 * (rssEnd - rssBase)) / rssBase, 2), slopeMbPerHour: ((v) => (v === null ? null : round(v * 3600, 1)))(slope(after.map((s) => [s.t, s.rssMb]))), maxMb: Math.max(...samples.map((s) => s.rssMb)) },
    heap: { baselineMb: heapBase, endMb: heapEnd, growthPct: round((100 * (heapEnd - heapBase)) / heapBase, 2) },
    drift: { frameLagP99Ms: frame, loopLagP99Ms: loop, frameDrifted: drifts(frame), loopDrifted: drifts(loop), drifted },
    load: { min: Math.min(...loads), median: median(loads), max: Math.max(...loads) },
    cpu: { engineCoresMedian: round(median(samples.map((s) => s.engineCores)), 2), pressureMedian: round(median(samples.map((s) => s.cpuPressure))) },
    generator,
    disturbed: { mediaCallsFailed: generator.calls.failed, mediaTurnsUnanswered: generator.turns.failed - superseded(generator), relayCallsFailed: generator.relay.failed, relayTurnsUnanswered: generator.relay.unanswered },
    mediaTurnsSuperseded: superseded(generator),
    counters: {
      mediaStarted: generator.calls.started,
      mediaEnded,
      relayEnded,
      engineCallsTotal: byLabel(m, 'weaver_calls_total', 'outcome'),
      engineCallsActive: active,
      protocolErrors,
      engineErrors: byLabel(m, 'weaver_errors_total', 'kind'),
      consistent: problems.length === 0,
      problems,
    },
  };
}

/** Writes <out>.json, <out>.md and the chart (<out>.svg, and .png when chromium is there) under bench/results/. */
export async function writeSoakReport(r: SoakResult, out: string, command: string): Promise<string> {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${out}.json`, dir), JSON.stringify({ command, ...r }, null, 2) + '\n');
  const min = (s: SoakSample) => s.t / 60;
  const title = `Soak: ${r.options.calls} media + ${r.options.relayCalls} relay calls, ${Math.round(r.options.durationMs / 60_000)} min`;
  const memory = lineChart({
    title: `${title}: memory`,
    xLabel: 'minutes',
    yLabel: 'MB, calls',
    series: [
      { name: 'engine RSS, MB', points: r.samples.map((s) => [min(s), s.rssMb]) },
      { name: 'V8 heap used, MB', points: r.samples.map((s) => [min(s), s.heapUsedMb]) },
      { name: 'calls in the engine', points: r.samples.map((s) => [min(s), s.engineCalls]) },
    ],
    hLines: [{ y: r.rss.baselineMb * 1.05, label: 'RSS baseline + 5 %', color: '#d62728' }],
    width: 900,
    height: 440,
  });
  const lag = lineChart({
    title: `${title}: lag and machine load`,
    xLabel: 'minutes',
    yLabel: 'ms (lags), load × 100',
    series: [
      { name: 'frame lag p99, ms', points: r.samples.map((s) => [min(s), s.frameLagP99Ms ?? NaN]) },
      { name: 'event-loop lag p99, ms', points: r.samples.map((s) => [min(s), s.loopLagP99Ms]) },
      { name: '1-min load avg × 100', points: r.samples.map((s) => [min(s), s.load1 * 100]) },
    ],
    width: 900,
    height: 440,
  });
  const files: string[] = [];
  for (const [name, svg] of [['memory', memory], ['lag', lag]]) {
    const path = fileOf(new URL(`${out}-${name}.svg`, dir));
    // A PNG needs chromium; the SVG is enough when it fails.
    files.push(...(await writeChart(path, svg).catch(() => writeChart(path, svg, false))));
  }
  const g = r.generator;
  const d = r.disturbed;
  const goalRss = r.rss.growthPct < 5;
  const md = [
    `# Soak (${r.at})`,
    '',
    `Command: \`${command}\`; machine: ${r.machine.cpus} vCPU ${r.machine.model}, ${r.machine.memGb} GiB, Node ${r.machine.node}; load average (1 min) during the run: median ${r.load.median}, ${r.load.min}–${r.load.max} (other work shares this machine); the engine used a median ${r.cpu.engineCoresMedian} cores, and some task waited for a CPU ${r.cpu.pressureMedian} % of the time (median of /proc/pressure/cpu).`,
    `Warm-up left out: first ${Math.round(r.options.warmupMs / 1000)} s; a sample every ${Math.round(r.options.sampleMs / 1000)} s (${r.samples.length} samples). Chart: ${files.map((f) => f.split('/').pop()).join(', ')}.`,
    '',
    '| figure | value | goal |',
    '|---|---|---|',
    `| engine alive at the end | ${r.alive ? 'yes' : '**no**'} | yes |`,
    `| calls ended (media / relay) | ${r.counters.mediaEnded} / ${r.counters.relayEnded} | |`,
    `| media calls failed / turns unanswered (of ${g.turns.total}) | ${d.mediaCallsFailed} / ${d.mediaTurnsUnanswered}${d.mediaTurnsUnanswered ? ` (${kinds(g, SUPERSEDED, true)})` : ''} | 0 / 0 |`,
    `| media turns the caller cut off before the answer played (not unanswered: a newer input wins) | ${r.mediaTurnsSuperseded}${r.mediaTurnsSuperseded ? ` (${kinds(g, SUPERSEDED, false)})` : ''} | |`,
    `| relay calls failed / turns unanswered (of ${g.relay.turns}) | ${d.relayCallsFailed} / ${d.relayTurnsUnanswered} | 0 / 0 |`,
    `| RSS after warm-up: first → last window (median), MB | ${r.rss.baselineMb} → ${r.rss.endMb} (**${r.rss.growthPct >= 0 ? '+' : ''}${r.rss.growthPct} %**), fitted ${r.rss.slopeMbPerHour} MB/h, max ${r.rss.maxMb} | < 5 % ${goalRss ? '(met)' : '(**not met**)'} |`,
    `| V8 heap used: first → last window, MB | ${r.heap.baselineMb} → ${r.heap.endMb} (${r.heap.growthPct} %) | |`,
    `| frame lag p99, first → last third (median of samples), ms | ${r.drift.frameLagP99Ms[0]} → ${r.drift.frameLagP99Ms[1]} | no drift ${r.drift.frameDrifted ? '(**drifted**)' : '(met)'} |`,
    `| event-loop lag p99, first → last third, ms | ${r.drift.loopLagP99Ms[0]} → ${r.drift.loopLagP99Ms[1]} | no drift ${r.drift.loopDrifted ? '(**drifted**)' : '(met)'} |`,
    `| caller-side latency (end of speech → first audio) p50 / p95 / p99, ms | ${g.callerLatencyMs.p50} / ${g.callerLatencyMs.p95} / ${g.callerLatencyMs.p99} | |`,
    `| counters after the drain consistent | ${r.counters.consistent ? 'yes' : '**no**: ' + r.counters.problems.join('; ')} | yes |`,
    `| weaver_calls_total by outcome | ${Object.entries(r.counters.engineCallsTotal).map(([k, v]) => `${k} ${v}`).join(', ')} | |`,
    `| weaver_errors_total by kind | ${Object.entries(r.counters.engineErrors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'} | |`,
    '',
    `No drift means the last third's median p99 is within ${Math.round((DRIFT_RATIO - 1) * 100)} % (or ${DRIFT_SLACK_MS} ms) of the first third's. Failures by reason: ${JSON.stringify(g.calls.failures)}.`,
    '',
  ].join('\n');
  writeFileSync(new URL(`${out}.md`, dir), md);
  return md;
}

/** "kind n, …" of the generator's unanswered utterances, those in `only` (or all but them). */
function kinds(g: GenStats, only: string[], except: boolean): string {
  return Object.entries(g.turns.byKind)
    .filter(([k]) => only.includes(k) !== except)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

const fileOf = (u: URL) => decodeURIComponent(u.pathname);

/** "30m", "90s", "1h" or plain milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`--soak: a duration like 30m, 90s or 1h, got "${s}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
}
