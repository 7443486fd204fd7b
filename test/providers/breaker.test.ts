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

describe('HedgeBudget (token bucket)', () => {
  it('starts full, stops hedging at half, and refills by ratio per answer', () => {
    const b = new HedgeBudget({ maxTokens: 10, ratio: 0.5 });
    expect(b.allows()).toBe(true);
    for (let i = 0; i < 4; i++) b.failure();
    expect(b.tokens).toBe(6);
    expect(b.allows()).toBe(true);
    b.failure();
    expect(b.tokens).toBe(5); // not above half: refused
    expect(b.allows()).toBe(false);
    expect(b.refused).toBe(1);
    b.success();
    expect(b.tokens).toBe(5.5);
    expect(b.allows()).toBe(true);
    for (let i = 0; i < 20; i++) b.success();
    expect(b.tokens).toBe(10); // capped at maxTokens
    for (let i = 0; i < 20; i++) b.failure();
    expect(b.tokens).toBe(0); // never below zero
    expect(b.lowest).toBe(0);
  });

  it('rejects a bucket that cannot work', () => {
    expect(() => new HedgeBudget({ maxTokens: 0 })).toThrow(/maxTokens/);
    expect(() => new HedgeBudget({ ratio: -1 })).toThrow(/ratio/);
  });
});

describe('hedge delay', () => {
  const s = { ...DEFAULT_HEDGE, minDelayMs: 100, maxDelayMs: 1500, minSamples: 20, priorMs: 400, priorWeight: 3, tailMultiple: 2.5 };

  it('starts from the prior before any sample: k × the expected first-output time, a candidate\'s own first', () => {
    const h = new ProviderHealth();
    expect(hedgeDelay(h, 'p', s)).toBe(1000);
    expect(hedgeDelay(h, 'p', s, 200)).toBe(500);
    expect(hedgeDelay(h, 'p', { ...s, priorMs: 5000 })).toBe(1500); // clamped to the maximum
  });

  it('blends the prior with samples as they arrive: prior weight 3 samples', () => {
    const h = new ProviderHealth();
    h.recordFirstOutput('p', 100);
    expect(hedgeDelay(h, 'p', s)).toBe(Math.round(2.5 * ((3 * 400 + 100) / 4))); // 813
    for (let i = 0; i < 2; i++) h.recordFirstOutput('p', 100);
    expect(hedgeDelay(h, 'p', s)).toBe(Math.round(2.5 * ((3 * 400 + 3 * 100) / 6))); // 625
  });

  it('follows the p95 once there are enough samples, while the tail is healthy', () => {
    const h = new ProviderHealth();
    for (let i = 1; i <= 100; i++) h.recordFirstOutput('p', 100 + i * 2); // 102..300 ms: p95 290
    expect(hedgeDelay(h, 'p', s)).toBe(290);
    for (let i = 0; i < 512; i++) h.recordFirstOutput('q', 10);
    expect(hedgeDelay(h, 'q', s)).toBe(100); // clamped to the minimum
  });

  it('stays near the healthy mode when stalls fill the tail: bounded by k × median, not the stall', () => {
    const h = new ProviderHealth();
    // 80 % answer in ~120 ms, 20 % stall 3 s: the p95 is the stall.
    for (let i = 0; i < 100; i++) h.recordFirstOutput('p', i % 5 === 0 ? 3000 : 115 + (i % 10));
    expect(h.ttftQuantile('p', 0.95)).toBe(3000);
    const d = hedgeDelay(h, 'p', s);
    expect(d).toBeLessThan(400);
    expect(d).toBe(Math.round(2.5 * ((3 * 400 + 100 * h.ttftQuantile('p', 0.5)!) / 103)));
    // The same samples with the old rule (the p95 clamped) would wait the maximum.
    expect(hedgeDelay(h, 'p', { ...s, tailMultiple: 100 })).toBe(1500);
  });

  it('follows a real shift in latency within the last 100 samples, not the whole window', () => {
    const h = new ProviderHealth();
    for (let i = 0; i < 200; i++) h.recordFirstOutput('p', 100);
    expect(hedgeDelay(h, 'p', s)).toBe(100);
    for (let i = 0; i < 60; i++) h.recordFirstOutput('p', 400); // the provider got 4× slower
    expect(h.ttftQuantile('p', 0.5)).toBe(100); // /health's 512-sample window has not moved yet
    expect(hedgeDelay(h, 'p', s)).toBe(400); // the delay has: min(p95 400, k × median ≈ 400)
  });
});

describe('provider health', () => {
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
