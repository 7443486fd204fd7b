// The history's write queue (bounded, batched, drops counted, one retry) and the quality score
// (what counts as a turn answered well, per call and over a rolling window with its alert).
import { describe, it, expect } from 'vitest';
import { WriteQueue, type DropReason } from '../../engine/history/queue.ts';
import { QualityMonitor, qualityScore, turnOk } from '../../engine/history/quality.ts';
import { maskNumber, redactText } from '../../engine/history/redact.ts';

function queue(o: { max?: number; batch?: number; fail?: number; alive?: () => boolean } = {}) {
  const batches: number[][] = [];
  const drops: Array<[number, DropReason]> = [];
  let failures = o.fail ?? 0;
  let written = 0;
  let release: (() => void) | undefined;
  let hold = false;
  const q = new WriteQueue<number>({
    max: o.max ?? 100,
    batch: o.batch ?? 10,
    flushMs: 10_000, // the tests drain by hand
    retryMs: 1,
    alive: o.alive,
    write: async (b) => {
      if (hold) await new Promise<void>((r) => (release = r));
      if (failures-- > 0) throw new Error('store down');
      batches.push(b);
    },
    onDrop: (n, reason) => drops.push([n, reason]),
    onWritten: (n) => (written += n),
  });
  return { q, batches, drops, written: () => written, holdWrites: () => (hold = true), release: () => ((hold = false), release?.()) };
}

describe('history write queue', () => {
  it('writes in batches of at most the batch size, in order, and counts what it wrote', async () => {
    const t = queue({ batch: 4 });
    for (let i = 0; i < 10; i++) expect(t.q.push(i)).toBe(true);
    await t.q.drain();
    expect(t.batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(t.written()).toBe(10);
    expect(t.drops).toEqual([]);
  });

  it('is bounded: while the store is slow, records past the bound are dropped and counted, never held', async () => {
    const t = queue({ max: 5, batch: 100 });
    t.holdWrites();
    for (let i = 0; i < 5; i++) t.q.push(i);
    const drained = t.q.drain();
    await new Promise((r) => setTimeout(r, 5)); // the 5 are in flight now
    for (let i = 5; i < 15; i++) t.q.push(i); // 5 fit, 5 do not
    expect(t.q.depth).toBe(5);
    expect(t.drops).toEqual(Array(5).fill([1, 'queue_full']));
    t.release();
    await drained;
    expect(t.batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('retries a failed batch once, then drops it and counts it as write_failed', async () => {
    const once = queue({ fail: 1 });
    once.q.push(1);
    await once.q.drain();
    expect(once.batches).toEqual([[1]]);
    expect(once.drops).toEqual([]);

    const twice = queue({ fail: 2 });
    twice.q.push(1);
    twice.q.push(2);
    await twice.q.drain();
    expect(twice.batches).toEqual([]);
    expect(twice.drops).toEqual([[2, 'write_failed']]);
  });

  it('drops as store_lost once the store is gone, and after it stops', async () => {
    let alive = true;
    const t = queue({ alive: () => alive });
    t.q.push(1);
    alive = false;
    await t.q.drain();
    expect(t.drops).toEqual([[1, 'store_lost']]);
    expect(t.q.push(2)).toBe(false); // stopped: counted, not held
    expect(t.drops.at(-1)).toEqual([1, 'queue_full']);
  });
});

describe('quality score', () => {
  const turn = (over: Partial<{ index: number; source: string; interrupted: boolean; turnMs: number }>) => ({ index: over.index ?? 1, source: 'source' in over ? over.source : 'llm', interrupted: over.interrupted ?? false, latency: { turnMs: 'turnMs' in over ? over.turnMs : 200 } });

  it('counts a caller turn as answered well only within the target, with no fallback, no cut-off and an answer', () => {
    expect(turnOk(turn({}), 300)).toBe(true);
    expect(turnOk(turn({ turnMs: 300 }), 300)).toBe(true);
    expect(turnOk(turn({ turnMs: 301 }), 300)).toBe(false);
    expect(turnOk(turn({ source: 'fallback' }), 300)).toBe(false);
    expect(turnOk(turn({ interrupted: true }), 300)).toBe(false);
    expect(turnOk(turn({ turnMs: undefined }), 300)).toBe(false); // nothing was sent
    expect(turnOk(turn({ source: undefined }), 300)).toBe(false);
    expect(turnOk(turn({ source: 'cache-exact', turnMs: 5 }), 300)).toBe(true);
    expect(turnOk(turn({ index: 0, source: 'greeting' }), 300)).toBeUndefined(); // the greeting is not rated
  });

  it('scores a call as the share of its rated turns, 0–100, and has no score without caller turns', () => {
    expect(qualityScore([undefined, true, true, false])).toBe(66.7);
    expect(qualityScore([undefined])).toBeNull();
    expect(qualityScore([true, null, true])).toBe(100);
  });

  it('raises the engine-wide alert once below the threshold with enough turns, and clears it once back', () => {
    let now = 0;
    const m = new QualityMonitor({ thresholdPct: 85, windowS: 60, minTurns: 10, now: () => now });
    const events = [];
    for (let i = 0; i < 9; i++) events.push(m.observe(false)); // too few turns to judge
    expect(events.filter(Boolean)).toEqual([]);
    const raised = m.observe(false);
    expect(raised).toMatchObject({ type: 'raised', kind: 'quality_below_threshold', scorePct: 0, thresholdPct: 85, turns: 10 });
    expect(m.active).toBe(true);
    expect(m.observe(false)).toBeUndefined(); // once, not per turn
    now = 61_000; // the bad turns leave the window
    for (let i = 0; i < 9; i++) expect(m.observe(true)).toBeUndefined();
    expect(m.observe(true)).toMatchObject({ type: 'cleared', scorePct: 100, turns: 10 });
    expect(m.active).toBe(false);
  });
});

describe('redaction', () => {
  it('keeps ordinary speech, masks personal data, drops transcripts when told', () => {
    expect(redactText('Is there parking at the clinic on Monday at 10am?', 'pii')).toBe('Is there parking at the clinic on Monday at 10am?');
    expect(redactText('call me on +44 20 7946 0958', 'pii')).toBe('call me on [number]');
    expect(redactText('hello', 'transcripts')).toBe('');
    expect(redactText(null, 'pii')).toBeNull();
    expect(maskNumber('client:alice')).toBe('client:a****');
    expect(maskNumber(undefined)).toBeNull();
  });
});
