// Performance alerts: raised once when the rolling p95/p99 passes the target/max, cleared once
// below the hysteresis margin, with an event and a structured log line each time.
import { describe, it, expect } from 'vitest';
import { PerformanceAlerts, type AlertEvent } from '../../engine/metrics/alerts.ts';

function logger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg });
  return { lines, log: { warn: at('warn'), info: at('info') } as never };
}

describe('PerformanceAlerts', () => {
  it('raises p95-over-target once, then clears below the margin', () => {
    const { lines, log } = logger();
    const a = new PerformanceAlerts({ targetMs: 300, maxMs: 500, minSamples: 5, log });
    const events: AlertEvent[] = [];
    a.on('alert', (e) => events.push(e));
    expect(a.evaluate({ count: 50, p95: 250, p99: 400 })).toEqual([]);
    const fired = a.evaluate({ count: 50, p95: 320, p99: 450 });
    expect(fired.map((e) => [e.type, e.kind])).toEqual([['raised', 'turn_p95_over_target']]);
    expect(a.evaluate({ count: 50, p95: 330, p99: 450 })).toEqual([]); // still up: no repeat
    expect(a.active().map((e) => e.kind)).toEqual(['turn_p95_over_target']);
    expect(a.evaluate({ count: 50, p95: 290, p99: 450 })).toEqual([]); // inside the 10 % margin
    expect(a.evaluate({ count: 50, p95: 260, p99: 450 }).map((e) => e.type)).toEqual(['cleared']);
    expect(a.active()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['raised', 'cleared']);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    expect(lines[0].obj).toMatchObject({ alert: 'turn_p95_over_target', valueMs: 320, thresholdMs: 300 });
    expect(lines[0].msg).toMatch(/p95 320 ms is over 300 ms/);
  });

  it('raises p99-over-max independently', () => {
    const a = new PerformanceAlerts({ targetMs: 300, maxMs: 500, minSamples: 1 });
    const fired = a.evaluate({ count: 10, p95: 200, p99: 900 });
    expect(fired.map((e) => e.kind)).toEqual(['turn_p99_over_max']);
  });

  it('waits for enough samples', () => {
    const a = new PerformanceAlerts({ targetMs: 300, maxMs: 500, minSamples: 20 });
    expect(a.evaluate({ count: 3, p95: 5000, p99: 5000 })).toEqual([]);
    expect(a.evaluate({ count: 20, p95: 5000, p99: 5000 })).toHaveLength(2);
  });

  it('rejects bad thresholds with a clear error', () => {
    expect(() => new PerformanceAlerts({ targetMs: 0, maxMs: 500 })).toThrow(/targetMs must be a positive number/);
    expect(() => new PerformanceAlerts({ targetMs: 300, maxMs: Number.NaN })).toThrow(/maxMs/);
  });
});
