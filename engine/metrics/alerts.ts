// Performance alerts on the rolling turn latency: p95 above the target or p99 above the maximum
// (PERFORMANCE_TARGET_LATENCY / PERFORMANCE_MAX_LATENCY). An alert is raised once when its
// condition starts and cleared once when it ends, each time as an 'alert' event and one
// structured log line, so a flapping p95 does not flood the log: it clears only after falling
// a hysteresis margin below the threshold.
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';

export type AlertKind = 'turn_p95_over_target' | 'turn_p99_over_max';

export interface AlertEvent {
  type: 'raised' | 'cleared';
  kind: AlertKind;
  /** The percentile's value when the event fired, ms. */
  valueMs: number;
  thresholdMs: number;
  /** Turns in the window the percentile was computed over. */
  samples: number;
  windowS: number;
  at: number;
}

export interface AlertOptions {
  targetMs: number;
  maxMs: number;
  /** Turns the window needs before a percentile is trusted. */
  minSamples?: number;
  /** Rolling window, seconds. */
  windowS?: number;
  /** Share below the threshold at which a raised alert clears. */
  hysteresis?: number;
  log?: Logger;
  now?: () => number;
}

export interface RollingPercentiles {
  count: number;
  p95: number | null;
  p99: number | null;
}

const HISTORY = 50;

export class PerformanceAlerts extends EventEmitter {
  readonly targetMs: number;
  readonly maxMs: number;
  readonly minSamples: number;
  readonly windowS: number;
  private readonly hysteresis: number;
  private readonly raised = new Map<AlertKind, AlertEvent>();
  /** Recent events, newest last, for the dashboard. */
  readonly history: AlertEvent[] = [];
  private readonly now: () => number;

  constructor(private readonly o: AlertOptions) {
    super();
    for (const [k, v] of [['targetMs', o.targetMs], ['maxMs', o.maxMs]] as const) {
      if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new RangeError(`PerformanceAlerts: ${k} must be a positive number, got ${String(v)}`);
    }
    this.targetMs = o.targetMs;
    this.maxMs = o.maxMs;
    this.minSamples = o.minSamples ?? 20;
    this.windowS = o.windowS ?? 60;
    this.hysteresis = o.hysteresis ?? 0.1;
    this.now = o.now ?? Date.now;
  }

  /** Alerts raised now. */
  active(): AlertEvent[] {
    return [...this.raised.values()];
  }

  /** Checks the rolling percentiles; returns the events this check fired. */
  evaluate(p: RollingPercentiles): AlertEvent[] {
    const fired: AlertEvent[] = [];
    const check = (kind: AlertKind, value: number | null, threshold: number) => {
      if (value === null || p.count < this.minSamples) return;
      const up = this.raised.has(kind);
      if (!up && value > threshold) fired.push(this.fire('raised', kind, value, threshold, p.count));
      else if (up && value <= threshold * (1 - this.hysteresis)) fired.push(this.fire('cleared', kind, value, threshold, p.count));
    };
    check('turn_p95_over_target', p.p95, this.targetMs);
    check('turn_p99_over_max', p.p99, this.maxMs);
    return fired;
  }

  private fire(type: AlertEvent['type'], kind: AlertKind, valueMs: number, thresholdMs: number, samples: number): AlertEvent {
    const ev: AlertEvent = { type, kind, valueMs: Math.round(valueMs * 10) / 10, thresholdMs, samples, windowS: this.windowS, at: this.now() };
    if (type === 'raised') this.raised.set(kind, ev);
    else this.raised.delete(kind);
    this.history.push(ev);
    if (this.history.length > HISTORY) this.history.shift();
    const what = kind === 'turn_p95_over_target' ? 'p95' : 'p99';
    const msg =
      type === 'raised'
        ? `performance alert: rolling turn latency ${what} ${ev.valueMs} ms is over ${thresholdMs} ms`
        : `performance alert cleared: rolling turn latency ${what} ${ev.valueMs} ms is back under ${thresholdMs} ms`;
    if (type === 'raised') this.o.log?.warn({ alert: kind, event: type, valueMs: ev.valueMs, thresholdMs, samples, windowS: this.windowS }, msg);
    else this.o.log?.info({ alert: kind, event: type, valueMs: ev.valueMs, thresholdMs, samples, windowS: this.windowS }, msg);
    this.emit('alert', ev);
    return ev;
  }
}
