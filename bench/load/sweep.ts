// Capacity sweep: for each DSP setting, raise concurrency step by step until frame lag p99
// passes 20 ms or turns fail (> 1 % of turns unanswered or of calls failed, and at least 3); the
// capacity is the last step that passed. One fresh engine and generator per DSP setting.
import { startEngine, startGenerator } from './procs.ts';
import { idleRss, measurePoint, type Point } from './measure.ts';

export const DSP_SETTINGS = [
  { id: 'vad', label: 'VAD only (default)', env: { DSP_DENOISE: 'off' } },
  { id: 'spectral', label: 'VAD + light denoise (spectral)', env: { DSP_DENOISE: 'spectral' } },
  { id: 'rnnoise', label: 'RNNoise on every call', env: { DSP_DENOISE: 'rnnoise' } },
] as const;

export const FRAME_LAG_LIMIT_MS = 20;
export const FAIL_LIMIT = 0.01;
/** A share of failures only counts past this many: one unanswered turn in 75 is not a trend. */
export const FAIL_MIN_COUNT = 3;

export interface SweepOptions {
  steps: Record<string, number[]>;
  rampMs: number;
  settleMs: number;
  holdMs: number;
  settings?: string[];
  progress: (msg: string) => void;
}

export interface SweepResult {
  setting: string;
  label: string;
  capacity: number;
  /** Why the sweep stopped ("frame lag", "failures", "steps exhausted"). */
  stoppedBy: string;
  idleRssMb: number;
  /** Memory per call: least-squares slope of engine RSS over the steps' call counts, KB. */
  rssSlopeKbPerCall: number | null;
  points: Point[];
}

/** Least-squares slope of y over x (null with fewer than 2 distinct x). */
export function slope(points: Array<[number, number]>): number | null {
  const pts = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (new Set(pts.map((p) => p[0])).size < 2) return null;
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  let num = 0;
  let den = 0;
  for (const [x, y] of pts) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

export function verdict(p: Point): string | null {
  if (p.frameLagMs.p99 === null || p.frameLagMs.count === 0) return 'no frames processed';
  if (p.frameLagMs.p99 > FRAME_LAG_LIMIT_MS) return `frame lag p99 ${p.frameLagMs.p99} ms > ${FRAME_LAG_LIMIT_MS} ms`;
  if (p.failedTurnShare > FAIL_LIMIT && p.gen.turns.failed >= FAIL_MIN_COUNT) return `${(100 * p.failedTurnShare).toFixed(1)} % of turns unanswered`;
  if (p.failedCallShare > FAIL_LIMIT && p.gen.calls.failed >= FAIL_MIN_COUNT) return `${(100 * p.failedCallShare).toFixed(1)} % of calls failed`;
  return null;
}

export async function runSweep(o: SweepOptions): Promise<SweepResult[]> {
  const out: SweepResult[] = [];
  for (const s of DSP_SETTINGS) {
    if (o.settings && !o.settings.includes(s.id)) continue;
    o.progress(`sweep: ${s.label}`);
    const engine = await startEngine({ ...s.env });
    const gen = await startGenerator({ baseUrl: engine.baseUrl, mediaUrl: engine.mediaUrl, reports: false, seed: 7 });
    const idle = await idleRss(engine);
    const points: Point[] = [];
    let capacity = 0;
    let stoppedBy = 'steps exhausted';
    try {
      for (const n of o.steps[s.id] ?? []) {
        const p = await measurePoint(engine, gen, { n, rampMs: o.rampMs, settleMs: o.settleMs, holdMs: o.holdMs, idleRssBytes: idle, onProgress: o.progress });
        points.push(p);
        const why = verdict(p);
        o.progress(
          `  ${s.id} ${n} calls: frame lag p50 ${p.frameLagMs.p50} / p99 ${p.frameLagMs.p99} ms, event-loop delay p99 ${p.loopLagP99Ms ?? '–'} ms, engine ${p.engineCores} cores (main threads ${p.engineMainCores}), load ${p.loadAvg}, RSS ${p.engineRssMb} MB (${p.rssPerCallKb ?? '–'} KB/call), turns ${p.gen.turns.answered}/${p.gen.turns.total}, generator ${p.generatorCores} cores, tick lag p99 ${p.gen.generatorTickLagMs.p99?.toFixed(1)} ms${p.processes ? `, per process (calls, lag p99 ms): ${p.processes.map((x) => `${x.activeCalls}/${x.frameLagP99}`).join(' ')}` : ''} → ${why ?? 'pass'}`,
        );
        if (why) {
          stoppedBy = why;
          break;
        }
        capacity = n;
      }
    } finally {
      await gen.stop();
      await engine.stop();
    }
    const k = slope([[0, idle / 1024], ...points.map((p): [number, number] => [p.n, p.engineRssMb * 1024])]);
    out.push({ setting: s.id, label: s.label, capacity, stoppedBy, idleRssMb: Math.round(idle / 1048576), rssSlopeKbPerCall: k === null ? null : Math.round(k), points });
  }
  return out;
}
