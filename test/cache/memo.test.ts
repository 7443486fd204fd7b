// The kit's word-lookup memo: one call per key while held, all forgotten once `max` are held.
import { describe, it, expect } from 'vitest';
import { memo } from '../../adapters/kit/memo.ts';

describe('memo', () => {
  it('calls the function once per key, remembers null results too, and forgets all when full', () => {
    const calls: string[] = [];
    const f = memo((k: string) => (calls.push(k), k === 'none' ? null : k.toUpperCase()), 3);
    expect([f('a'), f('a'), f('none'), f('none'), f('b')]).toEqual(['A', 'A', null, null, 'B']);
    expect(calls).toEqual(['a', 'none', 'b']);
    f('c'); // held 3: cleared, then 'c' kept
    f('a');
    expect(calls).toEqual(['a', 'none', 'b', 'c', 'a']);
  });
});
