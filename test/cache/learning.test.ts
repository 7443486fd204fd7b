import { describe, expect, it } from 'vitest';
import { FAQ_STATE, type CacheKey } from '../../engine/cache/cache-key.ts';
import { LearningPolicy } from '../../engine/cache/learning.ts';

const key = (over: Partial<CacheKey> = {}): CacheKey => ({ workflow: 'dental', state: FAQ_STATE, language: 'en-US', voice: 'v', ...over });
const policy = (over: Partial<{ minCount: number; maxChars: number; maxTracked: number }> = {}) => new LearningPolicy({ minCount: 2, maxChars: 400, maxTracked: 100, ...over });

describe('LearningPolicy', () => {
  it('stores an answer on its minCount-th sighting, then counts from zero again', () => {
    const p = policy({ minCount: 3 });
    expect(p.consider(key(), 'Do you do implants?', 'Yes.', true)).toEqual({ action: 'wait', seen: 1 });
    expect(p.consider(key(), 'um, do you do implants', 'Yes.', true)).toEqual({ action: 'wait', seen: 2 });
    expect(p.consider(key(), 'DO YOU DO IMPLANTS', 'Yes.', true)).toEqual({ action: 'store' });
    expect(p.consider(key(), 'Do you do implants?', 'Yes.', true)).toEqual({ action: 'wait', seen: 1 });
  });

  it('counts per partition: en-US and en-GB together, Spanish and another voice apart', () => {
    const p = policy();
    expect(p.consider(key(), 'Is there parking?', 'Yes.', true).action).toBe('wait');
    expect(p.consider(key({ language: 'es-ES' }), 'Is there parking?', 'Yes.', true).action).toBe('wait');
    expect(p.consider(key({ voice: 'other' }), 'Is there parking?', 'Yes.', true).action).toBe('wait');
    expect(p.consider(key({ language: 'en-GB', state: '' }), 'Is there parking?', 'Yes.', true).action).toBe('store');
  });

  it('rejects, without counting, what must never be cached', () => {
    const p = policy({ minCount: 1, maxChars: 30 });
    expect(p.consider(key(), 'When is my appointment?', 'Tuesday at 3.', false)).toEqual({ action: 'reject', why: 'not cacheable' });
    expect(p.consider(key(), 'Anything?', '   ', true)).toEqual({ action: 'reject', why: 'empty answer' });
    expect(p.consider(key(), 'Tell me everything', 'x'.repeat(31), true)).toEqual({ action: 'reject', why: 'too long' });
    expect(p.consider(key(), 'What number do you have?', 'We have 415 555 0133.', true)).toMatchObject({ action: 'reject', why: expect.stringMatching(/^personal data/) });
    expect(p.consider(key(), 'Is sam@example.org on file?', 'Yes.', true)).toMatchObject({ action: 'reject', why: expect.stringMatching(/^personal data/) });
    expect(p.consider(key(), '?!', 'Yes.', true)).toEqual({ action: 'reject', why: 'empty question' });
    expect(p.tracked).toBe(0);
  });

  it('forgets the least recently seen question beyond maxTracked', () => {
    const p = policy({ maxTracked: 2 });
    p.consider(key(), 'first question here', 'a', true);
    p.consider(key(), 'second question here', 'b', true);
    p.consider(key(), 'third question here', 'c', true);
    expect(p.tracked).toBe(2);
    expect(p.consider(key(), 'first question here', 'a', true)).toEqual({ action: 'wait', seen: 1 });
    expect(p.consider(key(), 'third question here', 'c', true)).toEqual({ action: 'store' });
  });
});
