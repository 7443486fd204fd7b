// One load point: set the generator to N calls, let it ramp and settle, then measure over a
// hold window what the engine (its /metrics/live windows, /proc CPU and RSS) and the
// generator (caller-side latency, failures, per-call engine reports) saw.
import { loadavg } from 'node:os';
import type { EngineProc, GeneratorProc, ProcessShare } from './procs.ts';
import { coresUsed, sampleEngine } from './procs.ts';
import type { GenStats } from './generator.ts';
import type { WindowSummary } from '../../engine/metrics/window.ts';

export interface PointOptions {
  n: number;
  rampMs: number;
  settleMs: number;
  holdMs: number;
  /** Engine RSS with no calls, for memory per call. */
  idleRssBytes?: number;
  samples?: boolean;
  onProgress?: (msg: string) => void;
}

export interface Point {
  n: number;
  holdS: number;
  /** Engine-side, over the hold window. */
  frameLagMs: WindowSummary;
  /** Turn latency as the engine measured it over the hold (no call needs to have ended). */
  turnMs: WindowSummary;
  /** Share of the engine's cache lookups that hit, since it started (null: no lookup). */
  cacheHitRate: number | null;
  activeCalls: number;
  engineCores: number;
  /** Of engineCores, the engine processes' main threads (the rest: DSP workers, GC, other threads). */
  engineMainCores: number;
  /** The machine's 1-minute load average when the hold began (others' work shares these cores). */
  loadAvg: number;
  /**
   * Event-loop delay p99 over the hold (ms; prom-client's, under a supervisor the processes'
   * average): how long a socket message can wait before the main thread reads it, which frame
   * lag (from the read to the end of DSP) does not include. null: not reported.
   */
  loopLagP99Ms: number | null;
  /** WEAVER_PROCESSES > 1: each process's calls and frame lag at the end of the hold. */
  processes?: ProcessShare[];
  engineRssMb: number;
  rssPerCallKb: number | null;
  generatorCores: number;
  gen: GenStats;
  /** Turn/call failure share over the hold. */
  failedTurnShare: number;
  failedCallShare: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measurePoint(engine: EngineProc, gen: GeneratorProc, o: PointOptions): Promise<Point> {
  gen.target(o.n, o.rampMs);
  await sleep(o.rampMs + o.settleMs);
  const since = await gen.now();
  const loadAvg = Math.round(loadavg()[0] * 100) / 100;
  await loopLagP99(engine); // reads and restarts the engine's event-loop delay histogram
  const a = sampleEngine(engine.info);
  const g0 = await gen.stats(Number.MAX_SAFE_INTEGER);
  const holdS = Math.round(o.holdMs / 1000);
  const step = 5000;
  for (let t = 0; t < o.holdMs; t += step) {
    await sleep(Math.min(step, o.holdMs - t));
    o.onProgress?.(`  … ${o.n} calls, ${Math.min(holdS, Math.round((t + step) / 1000))}/${holdS} s`);
  }
  const b = sampleEngine(engine.info);
  const live = await engine.live(Math.max(1, holdS));
  const loopLagP99Ms = await loopLagP99(engine);
  const g = await gen.stats(since, o.samples ?? false);
  const cpu1 = g.generatorCpuMs.user + g.generatorCpuMs.system;
  const cpu0 = g0.generatorCpuMs.user + g0.generatorCpuMs.system;
  const rss = b?.rssBytes ?? NaN;
  const turns = g.turns.total;
  const calls = g.calls.completed + g.calls.failed;
  return {
    n: o.n,
    holdS,
    frameLagMs: live.frameLag,
    turnMs: live.stages.turn,
    cacheHitRate: live.cache.hitRate,
    activeCalls: live.activeCalls,
    engineCores: a && b ? Math.round(coresUsed(a, b) * 100) / 100 : NaN,
    engineMainCores: a && b ? Math.round(coresUsed(a, b, 'mainCpuMs') * 100) / 100 : NaN,
    loadAvg,
    loopLagP99Ms,
    processes: live.processes,
    engineRssMb: Math.round(rss / 1048576),
    rssPerCallKb: o.idleRssBytes && o.n > 0 ? Math.round((rss - o.idleRssBytes) / 1024 / o.n) : null,
    generatorCores: Math.round(((cpu1 - cpu0) / o.holdMs) * 100) / 100,
    gen: g,
    failedTurnShare: turns ? g.turns.failed / turns : 0,
    failedCallShare: calls ? g.calls.failed / calls : 0,
  };
}

/** The engine's event-loop delay p99 since the last read of /metrics, ms (each read restarts it). */
async function loopLagP99(engine: EngineProc): Promise<number | null> {
  try {
    const r = await fetch(`${engine.baseUrl}/metrics`, { headers: { connection: 'close' } });
    const m = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(await r.text());
    return m ? Math.round(Number(m[1]) * 1e5) / 100 : null;
  } catch {
    return null;
  }
}

/** Engine RSS after it has been idle a moment (baseline for memory per call). */
export async function idleRss(engine: EngineProc, waitMs = 1500): Promise<number> {
  await sleep(waitMs);
  return sampleEngine(engine.info)?.rssBytes ?? NaN;
}
