import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerState } from '../../engine/providers/breaker.ts';
import { HedgeBudget, hedgeDelay, DEFAULT_HEDGE } from '../../engine/providers/hedge.ts';
import { ProviderHealth } from '../../engine/providers/health.ts';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, skips while open, probes once after the cool-down, closes on success', () => {
    const c = clock();
    const changes: Array<[BreakerState, BreakerState]> = [];
    const b = new CircuitBreaker('p', { failureThreshold: 3, failureRatio: 1, windowMs: 1000, minRequests: 100, cooldownMs: 500, now: c.now, onStateChange: (f, t) => changes.push([f, t]) });
    for (let i = 0; i < 2; i++) {
      expect(b.tryAcquire()).toBe(true);
      b.failure();
    }
    expect(b.state).toBe('closed');
    b.tryAcquire();
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    c.advance(499);
    expect(b.tryAcquire()).toBe(false);
    c.advance(1);
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true); // the probe
    expect(b.tryAcquire()).toBe(false); // only one probe at a time
    b.success();
    expect(b.state).toBe('closed');
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
  });

  it('re-opens when the probe fails, and a released probe lets another one through', () => {
    const c = clock();
    const b = new CircuitBreaker('p', { failureThreshold: 1, failureRatio: 1, windowMs: 1000, minRequests: 100, cooldownMs: 100, now: c.now });
    b.failure();
    c.advance(100);
    expect(b.tryAcquire()).toBe(true);
    b.release(); // e.g. the probe lost a hedge race: no verdict
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
  });

  it('opens on a failure ratio over the window even without a long failure streak', () => {
    const c = clock();
    const b = new CircuitBreaker('p', { failureThreshold: 100, failureRatio: 0.5, windowMs: 1000, minRequests: 10, cooldownMs: 100, now: c.now });
    for (let i = 0; i < 10; i++) {
      if (i % 2) b.failure();
      else b.success();
      c.advance(10);
    }
    expect(b.state).toBe('open');
  });

  it('forgets failures that slid out of the window', () => {
    const c = clock();
    const b = new CircuitBreaker('p', { failureThreshold: 100, failureRatio: 0.5, windowMs: 1000, minRequests: 4, cooldownMs: 100, now: c.now });
    b.failure();
    b.failure();
    c.advance(2000);
    b.success();
    b.success();
    b.success();
    b.failure();
    expect(b.state).toBe('closed');
  });
});

describe('HedgeBudget', () => {
  it('allows at most ratio × requests hedges in the window (plus one), and recovers as the window slides', () => {
    const c = clock();
    const b = new HedgeBudget(0.1, 1000, c.now);
    for (let i = 0; i < 100; i++) b.noteRequest();
    let granted = 0;
    for (let i = 0; i < 50; i++) if (b.tryHedge()) granted++;
    expect(granted).toBe(10);
    c.advance(1001);
    expect(b.tryHedge()).toBe(true); // the one-per-window allowance of an idle window
    expect(b.tryHedge()).toBe(false);
  });

  it('ratio 0 never hedges', () => {
    const b = new HedgeBudget(0, 1000);
    for (let i = 0; i < 100; i++) b.noteRequest();
    expect(b.tryHedge()).toBe(false);
  });
});

describe('adaptive hedge delay', () => {
  it('uses the max delay until enough samples, then the p95 clamped to [min, max]', () => {
    const h = new ProviderHealth();
    const s = { ...DEFAULT_HEDGE, minDelayMs: 100, maxDelayMs: 1000, minSamples: 20 };
    expect(hedgeDelay(h, 'p', s)).toBe(1000);
    for (let i = 1; i <= 100; i++) h.recordFirstOutput('p', i * 4); // 4..400 ms
    expect(hedgeDelay(h, 'p', s)).toBe(380);
    for (let i = 0; i < 512; i++) h.recordFirstOutput('q', 10);
    expect(hedgeDelay(h, 'q', s)).toBe(100);
    for (let i = 0; i < 512; i++) h.recordFirstOutput('r', 5000);
    expect(hedgeDelay(h, 'r', s)).toBe(1000);
  });

  it('health snapshot reports percentiles, error rate and breaker state', () => {
    const h = new ProviderHealth();
    h.register('p', 'llm');
    for (let i = 1; i <= 100; i++) h.recordFirstOutput('p', i);
    h.recordError('p', 'server');
    h.recordRequest('p');
    const [s] = h.snapshot().providers;
    expect(s).toMatchObject({ provider: 'p', role: 'llm', errors: 1, breaker: 'closed', errorsByKind: { server: 1 } });
    expect(s.ttftMs).toEqual({ count: 100, p50: 50, p95: 95, p99: 99 });
    expect(s.errorRate).toBeCloseTo(1 / 101);
  });
});
