// The soak's short profile (bench/soak.ts, the same code as `npm run reliability -- --soak 30m`):
// the engine as a separate process under 30 simulated Media Streams calls and 2 relay calls that
// end and start for 40 s, then drained. Asserts facts, not timings: the process lived, no call
// failed and no turn went unanswered, and the engine's counters agree with what the generator
// did. RSS growth and lag drift are figures of the full run (bench/results/soak.md), not goals here.
import { describe, it, expect } from 'vitest';
import { runSoak } from '../../bench/soak.ts';

describe('soak, short profile', () => {
  it('keeps the engine alive with no call disturbed and its counters consistent', async () => {
    const r = await runSoak({ durationMs: 40_000, calls: 30, relayCalls: 2, sampleMs: 4000, warmupMs: 8000, rampMs: 5000, leadMaxMs: 2000 });
    expect(r.alive).toBe(true);
    expect(r.samples.length).toBeGreaterThanOrEqual(5);
    expect(r.samples.every((s) => Number.isFinite(s.rssMb) && Number.isFinite(s.heapUsedMb))).toBe(true);
    // Calls ended and started again during the run: more ended than ever ran at once.
    expect(r.counters.mediaEnded).toBeGreaterThan(30);
    expect(r.counters.relayEnded).toBeGreaterThan(0);
    expect(r.disturbed).toEqual({ mediaCallsFailed: 0, mediaTurnsUnanswered: 0, relayCallsFailed: 0, relayTurnsUnanswered: 0 });
    expect(r.counters.problems).toEqual([]);
    expect(r.counters.engineCallsActive).toBe(0);
    expect(r.counters.protocolErrors).toBe(0);
  }, 150_000);
});
