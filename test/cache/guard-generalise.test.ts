// Issue 15, blind-set round 3: rules meant to generalise rather than fit one set: a matching
// calendar entity counts as a shared unit, unknown CJK characters count per word (ICU's
// dictionary word breaks), the stray-word allowance grows with what is shared, a relative day
// beside a question that has no day is not another answer, and an embedded question ("I don't
// know if…") asks what it embeds. Each case fails on its own if its rule is lost, and the
// refusals beside them must hold.
import { describe, expect, it } from 'vitest';
import { analyse, coverageOf, guard, type GuardReason } from '../../engine/cache/guard.ts';
import { normaliseText } from '../../adapters/kit/normalise.ts';

const inEntry = (query: string, stored: string, others: string[] = []): GuardReason | 'ok' =>
  guard(analyse(query), analyse(stored), coverageOf([stored, ...others].map(analyse))).reason ?? 'ok';

describe('guard: shared calendar entity as an anchor', () => {
  it('tolerates one stray word when the named day is shared', () => {
    expect(inEntry("Any chance you're open Saturdays?", 'Are you open on Saturday?')).toBe('ok');
    expect(inEntry('嗯，即係，禮拜日，你哋有冇開門呀？', '你哋星期日開唔開門？')).toBe('ok');
  });
  it('still refuses another day, or a stray word with nothing else shared', () => {
    expect(inEntry("Any chance you're open Sundays?", 'Are you open on Saturday?')).toBe('entity');
    expect(inEntry('any chance of a discount', 'Are you open on Saturday?')).not.toBe('ok');
  });
});

describe('guard: unknown CJK characters count per word', () => {
  it('an unknown two-character word is one stray word', () => {
    // 公司 ("company") is one word: the question still asks whether the insurance is accepted.
    expect(inEntry('我公司有牙科保險，你哋收唔收㗎？', '你哋收唔收牙科保險？')).toBe('ok');
  });
  it('two unknown words beside few shared units are still another topic', () => {
    expect(inEntry('你哋附近有冇藥房同埋銀行？', '你哋喺邊度？')).not.toBe('ok');
  });
});

describe('guard: a relative day beside a question that names no day', () => {
  it('"today" does not swap a question about a toothache', () => {
    expect(inEntry('i have a really bad tooth ache can some one see me today', 'I have a toothache, can someone see me?')).toBe('ok');
  });
  it('a named weekday or a day beside the hours still counts', () => {
    expect(inEntry('are you open today', 'What are your business hours?')).toBe('entity');
    expect(inEntry('I have a toothache, can someone see me on Saturday?', 'I have a toothache, can someone see me?')).toBe('entity');
  });
});

describe('normaliseText: embedded questions and tag questions', () => {
  it.each([
    ["I don't know if you guys are open on Saturdays", 'you guys are open on saturdays'],
    ['No sé si abren en sábado', 'abren en sábado'],
    ['我唔知你哋禮拜六開唔開', '你哋禮拜六開唔開'],
    ['不知道你们周六开不开', '你们周六开不开'],
  ])('"%s" asks the question it embeds', (embedded, plain) => {
    expect(normaliseText(embedded)).toBe(normaliseText(plain));
  });
  it('keeps a doubt about what the caller wants, and a plain refusal', () => {
    expect(analyse('no sé si quiero cancelar mi cita').negations).toBeGreaterThan(0);
    expect(analyse("I don't know").negations).toBeGreaterThan(0);
    expect(analyse("I don't know if I want to book").negations).toBeGreaterThan(0);
  });
  it('"or no" at the end is a tag question, not a refusal', () => {
    expect(analyse('are you open sundays or no').negations).toBe(0);
    expect(analyse('no, are you open sundays').negations).toBeGreaterThan(0);
  });
});

describe('CJK closed-class words', () => {
  it('final particles and adverbs a caller adds anywhere are not content', () => {
    const content = [...analyse('我個仔，佢先五歲咋，你哋有冇幫小朋友睇牙？').content];
    expect(content).not.toContain('c:先');
    expect(content).not.toContain('c:咋');
    expect([...analyse('你们周三还开着吗').content]).not.toContain('c:还');
  });
  it('那 stays content: 那里 is "where"', () => {
    expect(inEntry('诊所在那里', '你们诊所在哪里？')).toBe(inEntry('诊所在哪里', '你们诊所在哪里？'));
  });
});

describe('guard: another branch is another place', () => {
  // The FAQ speaks of the clinic: a question about one of its branches (or another location)
  // must not be given the clinic's address, in any language.
  it('refuses a branch against the clinic address, and keeps the plain question', () => {
    expect(inEntry('¿Dónde queda la sucursal del centro?', '¿Dónde está la clínica?')).not.toBe('ok');
    expect(inEntry('Where is your downtown branch?', 'Where is the clinic?')).not.toBe('ok');
    expect(inEntry('你哋分店喺邊度？', '你哋喺邊度？')).not.toBe('ok');
    expect(inEntry('¿Dónde queda la clínica?', '¿Dónde está la clínica?')).toBe('ok');
  });
});
