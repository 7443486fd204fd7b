// The quality score, from measurable facts only: the share of a call's caller turns answered
// within PERFORMANCE_TARGET_LATENCY (turn latency as docs/architecture.md defines it) with no
// error, no fallback line and no cut-off (the caller barged in). A turn with no answer at all
// counts as not answered. 0–100 per call, and over a rolling window for the engine (a call's turns
// count when it ends: a barge-in can cut an answer after its turn was recorded), where it raises an
// alert below QUALITY_ALERT_THRESHOLD (85 % by default, the product brief's figure).

/** The facts of a turn the score reads (a TurnRecord has them all). */
export interface TurnFacts {
  index: number;
  source?: string;
  interrupted: boolean;
  latency: { turnMs?: number };
}

/** undefined for the greeting (not a caller turn), else whether the turn was answered well. */
export function turnOk(t: TurnFacts, targetMs: number): boolean | undefined {
  if (t.index === 0) return undefined;
  const ms = t.latency.turnMs;
  return ms !== undefined && ms <= targetMs && !t.interrupted && t.source !== undefined && t.source !== 'fallback';
}

/** 0–100 over the caller turns, rounded to 0.1; null when the call had none. */
export function qualityScore(oks: ReadonlyArray<boolean | undefined | null>): number | null {
  let n = 0;
  let good = 0;
  for (const ok of oks) {
    if (ok === undefined || ok === null) continue;
    n++;
    if (ok) good++;
  }
  return n === 0 ? null : Math.round((1000 * good) / n) / 10;
}

export interface QualityAlert {
  type: 'raised' | 'cleared';
  kind: 'quality_below_threshold';
  scorePct: number;
  thresholdPct: number;
  turns: number;
  windowS: number;
  at: number;
}

/** The engine's quality over the last windowS seconds of caller turns, and its alert. */
export class QualityMonitor {
  private readonly window: Array<{ t: number; ok: boolean }> = [];
  private raised = false;

  constructor(
    private readonly o: { thresholdPct: number; windowS: number; minTurns?: number; now?: () => number },
  ) {}

  get active(): boolean {
    return this.raised;
  }

  /** Adds a caller turn; returns the alert event it fired, if any. */
  observe(ok: boolean): QualityAlert | undefined {
    const now = (this.o.now ?? Date.now)();
    this.window.push({ t: now, ok });
    const { score, turns } = this.score(now);
    if (score === null || turns < (this.o.minTurns ?? 20)) return undefined;
    if (!this.raised && score < this.o.thresholdPct) return this.fire('raised', score, turns, now);
    if (this.raised && score >= this.o.thresholdPct) return this.fire('cleared', score, turns, now);
    return undefined;
  }

  score(now = (this.o.now ?? Date.now)()): { score: number | null; turns: number } {
    const from = now - this.o.windowS * 1000;
    while (this.window.length && this.window[0].t < from) this.window.shift();
    return { score: qualityScore(this.window.map((w) => w.ok)), turns: this.window.length };
  }

  private fire(type: QualityAlert['type'], scorePct: number, turns: number, at: number): QualityAlert {
    this.raised = type === 'raised';
    return { type, kind: 'quality_below_threshold', scorePct, thresholdPct: this.o.thresholdPct, turns, windowS: this.o.windowS, at };
  }
}
