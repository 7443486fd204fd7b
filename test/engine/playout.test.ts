import { describe, it, expect } from 'vitest';
import { Playout } from '../../engine/call/playout.ts';

describe('Playout (marks are the truth of what was heard)', () => {
  it('drains when every mark has been echoed, in order', async () => {
    let now = 0;
    const p = new Playout(() => now);
    const m1 = p.add('Hello there.', 8000);
    const m2 = p.add('How can I help?', 8000);
    let drained = false;
    void p.drained().then(() => (drained = true));
    expect(p.onMark(m1)).toBe(true);
    await Promise.resolve();
    expect(drained).toBe(false);
    expect(p.onMark(m2)).toBe(true);
    await Promise.resolve();
    expect(drained).toBe(true);
    expect(p.playing).toBe(false);
  });

  it('echoes after a clear prove nothing, and the playing segment is cut by elapsed time', () => {
    let now = 0;
    const p = new Playout(() => now);
    const m1 = p.add('one two three four five six seven eight', 8000); // 1 s
    const m2 = p.add('never heard', 8000);
    now = 500; // half of the first segment played
    const r = p.clear();
    expect(r.dropped).toEqual([m1, m2]);
    expect(r.headMark).toBe(m1);
    expect(r.headHeard.split(' ').length).toBeGreaterThanOrEqual(3);
    expect(r.headHeard.split(' ').length).toBeLessThanOrEqual(5);
    expect('one two three four five six seven eight'.startsWith(r.headHeard)).toBe(true);
    // Twilio now echoes both pending marks: accepted, but nothing is "playing" any more.
    expect(p.onMark(m1)).toBe(true);
    expect(p.onMark(m2)).toBe(true);
    expect(p.playing).toBe(false);
  });

  it('rejects marks it never sent', () => {
    const p = new Playout();
    expect(p.onMark('bogus')).toBe(false);
  });
});
