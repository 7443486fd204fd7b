import { describe, it, expect } from 'vitest';
import { SentenceChunker } from '../../engine/call/sentence-chunker.ts';

/** Feeds text in pieces of `step` characters, as an LLM stream would. */
function chunk(text: string, step = 3, opts = {}): string[] {
  const c = new SentenceChunker(opts);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += step) out.push(...c.push(text.slice(i, i + step)));
  out.push(...c.flush());
  return out;
}
const squash = (s: string) => s.replace(/\s+/g, '');

describe('SentenceChunker', () => {
  it('splits sentences and keeps abbreviations, decimals and times whole', () => {
    const text = 'Dr. Lee sees patients at 8 a.m. on Mondays. A cleaning costs 95.50 dollars! Is that OK? We close at 6 p.m. See you.';
    expect(chunk(text, 4, { firstClauseMinChars: 0 })).toEqual([
      'Dr. Lee sees patients at 8 a.m. on Mondays.',
      'A cleaning costs 95.50 dollars!',
      'Is that OK?',
      'We close at 6 p.m.',
      'See you.',
    ]);
  });

  it('splits CJK sentences and newlines', () => {
    expect(chunk('我哋星期一至五開門。請問仲有咩可以幫到你？好', 2)).toEqual(['我哋星期一至五開門。', '請問仲有咩可以幫到你？', '好']);
    expect(chunk('one\ntwo\n\nthree', 1)).toEqual(['one', 'two', 'three']);
  });

  it('emits the first clause early when it is long enough, only for the first piece', () => {
    const out = chunk('Sure, I can book that for you next week, no problem at all. Then, we can talk, okay.', 2);
    expect(out[0]).toBe('Sure, I can book that for you next week,');
    expect(out).toContain('Then, we can talk, okay.');
    expect(chunk('Sure, we can do it.', 2)).toEqual(['Sure, we can do it.']); // too short to split
    expect(chunk('There were 1,000,000 people at the harbour today, it seems.', 1)[0]).toBe('There were 1,000,000 people at the harbour today,');
  });

  it('does not decide a boundary before the next character arrives', () => {
    const c = new SentenceChunker();
    expect(c.push('It costs 3.')).toEqual([]);
    expect(c.push('5 dollars. ')).toEqual([]);
    expect(c.push('Bye')).toEqual(['It costs 3.5 dollars.']);
    expect(c.flush()).toEqual(['Bye']);
  });

  it('never loses or duplicates text, whatever the delta sizes', () => {
    const text = 'Hello there!  Our clinic, Harbour Dental, is at 12 Harbour Rd. in town. "Really?" she asked. Yes... it is.\nCall 555-0100, ext. 4 e.g. tomorrow. 我哋喺海港道十二號。好！';
    for (const step of [1, 2, 5, 7, 13, 1000]) {
      const out = chunk(text, step);
      expect(out.every((p) => p === p.trim() && p.length > 0)).toBe(true);
      expect(squash(out.join(''))).toBe(squash(text));
    }
  });

  it('cuts a run-on without boundaries at maxChars, on a space', () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const out = chunk(words, 5, { maxChars: 50 });
    expect(out.length).toBeGreaterThan(5);
    expect(out.every((p) => p.length <= 50)).toBe(true);
    expect(out.join(' ')).toBe(words);
  });

  it('resets after flush and rejects non-strings', () => {
    const c = new SentenceChunker();
    c.push('first answer');
    expect(c.flush()).toEqual(['first answer']);
    expect(c.flush()).toEqual([]);
    expect(() => c.push(undefined as unknown as string)).toThrow(/expected a string/);
  });
});
