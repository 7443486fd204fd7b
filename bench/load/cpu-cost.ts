// CPU per call-second of the engine and of the load generator at a steady load: less sensitive
// to a shared machine than frame lag, since it counts CPU time, not waiting. Starts the bench
// engine and generator (as the sweep does), holds N calls, and reads every thread's CPU time
// from /proc over the hold, grouped by thread name (main thread, DSP workers, GC, libuv, …).
//
//   npx tsx bench/load/cpu-cost.ts [--calls 200] [--hold 15] [--settle 6] [--engine-env K=V,…] [--json FILE]
//
// Frames the engine processed in the hold come from its /metrics/live window (frame lag count),
// so "µs per frame" divides by work done even when a busy machine slows the engine down.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startEngine, startGenerator } from './procs.ts';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '200' },
    hold: { type: 'string', default: '15' },
    settle: { type: 'string', default: '6' },
    'engine-env': { type: 'string' },
    json: { type: 'string' },
  },
});
const N = Number(args.calls);
const holdMs = Number(args.hold) * 1000;
const settleMs = Number(args.settle) * 1000;
const engineEnv: Record<string, string> = { DSP_DENOISE: 'off' };
for (const kv of args['engine-env']?.split(',').filter(Boolean) ?? []) {
  const i = kv.indexOf('=');
  engineEnv[kv.slice(0, i)] = kv.slice(i + 1);
}

const TICKS_PER_S = 100;

/** User and system (`.sys`) CPU ms of every thread of these processes, by thread name and id (Node names most of its threads "node"). */
function threads(pids: number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = Number(tid) === pid ? 'main' : `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}#${tid}`;
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(name, (out.get(name) ?? 0) + (Number(f[11]) * 1000) / TICKS_PER_S);
        out.set(`${name}.sys`, (out.get(`${name}.sys`) ?? 0) + (Number(f[12]) * 1000) / TICKS_PER_S);
      } catch {
        /* thread ended */
      }
    }
  }
  return out;
}

function diff(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of b) out[k] = v - (a.get(k) ?? 0);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * ms per call-second by group: main threads (user, system), the `workers` busiest other threads
 * (the DSP workers: Node names them all "node", so by CPU, a heuristic) and the rest (V8's GC and
 * compiler threads, libuv's pool).
 */
function groups(d: Record<string, number>, workers: number, per: (ms: number) => number): Record<string, number> {
  const other = new Map<string, number>();
  let main = 0;
  let mainSys = 0;
  for (const [k, v] of Object.entries(d)) {
    if (k === 'main') main += v;
    else if (k === 'main.sys') mainSys += v;
    else {
      const t = k.replace(/\.sys$/, '');
      other.set(t, (other.get(t) ?? 0) + v);
    }
  }
  const sorted = [...other.values()].sort((a, b) => b - a);
  const dsp = sorted.slice(0, workers).reduce((a, v) => a + v, 0);
  const rest = sorted.slice(workers).reduce((a, v) => a + v, 0);
  return { mainUser: per(main), mainSystem: per(mainSys), ...(workers > 0 ? { dspWorkers: per(dsp) } : {}), otherThreads: per(rest) };
}

const engine = await startEngine(engineEnv);
const gen = await startGenerator({ baseUrl: engine.baseUrl, mediaUrl: engine.mediaUrl, reports: false, seed: 7 });
const enginePids = engine.info.pids ?? [engine.info.pid];
try {
  gen.target(N, 2000);
  await sleep(2000 + settleMs);
  const load0 = loadavg()[0];
  const e0 = threads(enginePids);
  const g0 = threads([gen.pid]);
  const t0 = performance.now();
  await sleep(holdMs);
  const e1 = threads(enginePids);
  const g1 = threads([gen.pid]);
  const wallS = (performance.now() - t0) / 1000;
  const live = await engine.live(Math.round(holdMs / 1000));
  const gs = await gen.stats(0);
  const ed = diff(e0, e1);
  const gd = diff(g0, g1);
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, v) => a + v, 0);
  const frames = live.frameLag.count;
  const callSeconds = frames / 50; // 50 frames per call-second
  const perCallS = (ms: number) => Math.round((ms / callSeconds) * 1000) / 1000;
  const result = {
    at: new Date().toISOString(),
    calls: N,
    activeCalls: live.activeCalls,
    holdS: Math.round(wallS * 10) / 10,
    loadAvgAtStart: Math.round(load0 * 100) / 100,
    loadAvgAtEnd: Math.round(loadavg()[0] * 100) / 100,
    framesProcessed: frames,
    framesPerCallPerS: Math.round((frames / wallS / N) * 10) / 10,
    frameLagMs: live.frameLag,
    engine: { cores: Math.round((sum(ed) / 1000 / wallS) * 1000) / 1000, msPerCallSecond: perCallS(sum(ed)), groups: groups(ed, engine.info.dspThreads * (engine.info.pids ? enginePids.length - 1 : 1), perCallS), byThread: Object.fromEntries(Object.entries(ed).filter(([, v]) => v > 0).map(([k, v]) => [k, perCallS(v)])) },
    generator: { cores: Math.round((sum(gd) / 1000 / wallS) * 1000) / 1000, msPerCallSecond: perCallS(sum(gd)), groups: groups(gd, 0, perCallS), byThread: Object.fromEntries(Object.entries(gd).filter(([, v]) => v > 0).map(([k, v]) => [k, perCallS(v)])) },
    turns: gs.turns,
    engineEnv,
  };
  console.log(JSON.stringify(result, null, 2));
  if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2));
} finally {
  await gen.stop();
  await engine.stop();
}
