// Side-by-side runs in one invocation on the same machine: each pair differs in one setting
// and runs the same load (same call count, audio, question pool and seed); the ratios are
// B / A for each figure. The first three pairs share one A, the default engine (uWS, DSP
// pool, cache on), measured once. Turn latency and cache hits come from the engine's own
// windows over the hold, so they do not wait for calls to end.
import { startEngine, startGenerator } from './procs.ts';
import { idleRss, measurePoint, type Point } from './measure.ts';
import { ratio } from './stats.ts';

export const PAIRS = [
  { id: 'transport', title: 'uWebSockets.js vs ws (transport)', a: { label: 'uWebSockets.js', env: {} }, b: { label: 'ws', env: { BENCH_TRANSPORT: 'ws' } } },
  { id: 'dsp', title: 'DSP in the worker pool vs on the main thread', a: { label: 'worker pool', env: {} }, b: { label: 'main thread', env: { BENCH_DSP: 'inline' } } },
  { id: 'cache', title: 'Response cache on vs off', a: { label: 'cache on', env: {} }, b: { label: 'cache off', env: { PERFORMANCE_CACHE_ENABLED: 'false' } } },
  // Cache off on both sides: every turn reaches the LLM, so the hedge has requests to act on.
  { id: 'hedging', title: 'Hedging on vs off (LLM chain of 2 vs 1 simulated providers, cache off)', a: { label: 'hedging on', env: { BENCH_HEDGING: 'on', PERFORMANCE_CACHE_ENABLED: 'false' } }, b: { label: 'hedging off', env: { BENCH_HEDGING: 'off', PERFORMANCE_CACHE_ENABLED: 'false' } } },
] as const;

export interface VariantResult {
  label: string;
  env: Record<string, string>;
  point: Point;
  figures: Figures;
}

export interface Figures {
  turnP50: number | null;
  turnP95: number | null;
  turnP99: number | null;
  callerP50: number | null;
  callerP95: number | null;
  frameLagP50: number | null;
  frameLagP99: number | null;
  engineCores: number;
  /** Engine CPU per call, % of one core. */
  cpuPerCallPct: number | null;
  rssPerCallKb: number | null;
  turnsAnswered: number;
  failedTurns: number;
  hedges: number;
  cacheHitShare: number | null;
}

export interface PairResult {
  id: string;
  title: string;
  a: VariantResult;
  b: VariantResult;
  /** b / a per figure. */
  ratios: Record<keyof Figures, number | null>;
}

export interface CompareOptions {
  n: number;
  rampMs: number;
  settleMs: number;
  holdMs: number;
  pairs?: string[];
  progress: (msg: string) => void;
}

function figures(p: Point, hedges: number): Figures {
  return {
    turnP50: p.turnMs.p50,
    turnP95: p.turnMs.p95,
    turnP99: p.turnMs.p99,
    callerP50: p.gen.callerLatencyMs.p50,
    callerP95: p.gen.callerLatencyMs.p95,
    frameLagP50: p.frameLagMs.p50,
    frameLagP99: p.frameLagMs.p99,
    engineCores: p.engineCores,
    cpuPerCallPct: p.n ? Math.round((p.engineCores / p.n) * 10000) / 100 : null,
    rssPerCallKb: p.rssPerCallKb,
    turnsAnswered: p.turnMs.count,
    failedTurns: p.gen.turns.failed,
    hedges,
    cacheHitShare: p.cacheHitRate === null ? null : Math.round(p.cacheHitRate * 1000) / 1000,
  };
}

async function runVariant(label: string, env: Record<string, string>, o: CompareOptions): Promise<VariantResult> {
  const engine = await startEngine(env);
  const gen = await startGenerator({ baseUrl: engine.baseUrl, mediaUrl: engine.mediaUrl, reports: false, seed: 11 });
  try {
    const idle = await idleRss(engine);
    const point = await measurePoint(engine, gen, { n: o.n, rampMs: o.rampMs, settleMs: o.settleMs, holdMs: o.holdMs, idleRssBytes: idle, onProgress: o.progress });
    const live = await engine.live();
    const hedges = live.providers.reduce((a, p) => a + p.hedges, 0);
    const f = figures(point, hedges);
    o.progress(`  ${label}: turn p50 ${f.turnP50} / p95 ${f.turnP95} ms, frame lag p99 ${f.frameLagP99} ms, engine ${f.engineCores} cores, ${f.turnsAnswered} turns, hedges ${hedges}, cache hits ${f.cacheHitShare ?? '–'}`);
    return { label, env, point, figures: f };
  } finally {
    await gen.stop();
    await engine.stop();
  }
}

export async function runCompare(o: CompareOptions): Promise<PairResult[]> {
  const out: PairResult[] = [];
  const measured = new Map<string, VariantResult>(); // by env: one run per engine configuration
  const variant = async (v: { label: string; env: Record<string, string> }): Promise<VariantResult> => {
    const key = JSON.stringify(v.env);
    const done = measured.get(key) ?? (await runVariant(v.label, { ...v.env }, o));
    measured.set(key, done);
    return { ...done, label: v.label };
  };
  for (const pair of PAIRS) {
    if (o.pairs && !o.pairs.includes(pair.id)) continue;
    o.progress(`compare: ${pair.title} at ${o.n} calls`);
    const a = await variant(pair.a);
    const b = await variant(pair.b);
    const ratios = Object.fromEntries(Object.keys(a.figures).map((k) => [k, ratio(b.figures[k as keyof Figures], a.figures[k as keyof Figures])])) as PairResult['ratios'];
    out.push({ id: pair.id, title: pair.title, a, b, ratios });
  }
  return out;
}
