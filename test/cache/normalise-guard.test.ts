import { describe, expect, it } from 'vitest';
import { analyse, guard, parseCjkNumber } from '../../engine/cache/guard.ts';
import { normaliseText, partitionLanguage, stem } from '../../adapters/kit/normalise.ts';
import { containsPersonalData, personalDataKind } from '../../engine/cache/pii.ts';

const verdict = (q: string, s: string) => guard(analyse(q), analyse(s));

describe('partitionLanguage', () => {
  it('reduces locales to the base language', () => {
    expect(partitionLanguage('en-US')).toBe('en');
    expect(partitionLanguage('EN_gb')).toBe('en');
    expect(partitionLanguage('es-ES')).toBe('es');
    expect(partitionLanguage('es')).toBe('es');
  });
  it('puts Cantonese tags in one partition, apart from Mandarin', () => {
    for (const t of ['yue', 'yue-HK', 'zh-HK', 'zh-Hant-HK', 'zh-MO']) expect(partitionLanguage(t)).toBe('yue');
    for (const t of ['zh', 'zh-CN', 'zh-TW', 'cmn', 'zh-Hans']) expect(partitionLanguage(t)).toBe('zh');
  });
  it('gives "und" for empty or malformed tags', () => {
    expect(partitionLanguage('')).toBe('und');
    expect(partitionLanguage('123')).toBe('und');
  });
});

describe('normaliseText', () => {
  it('folds case, punctuation, whitespace, fillers and contractions', () => {
    expect(normaliseText('  Um, WHAT\'S your   address?? please ')).toBe('what is your address');
    expect(normaliseText("I don't want to cancel")).toBe(normaliseText('i do not want to cancel'));
    expect(normaliseText('Open at 9 a.m.?')).toBe('open at 9 am');
  });
  it('keeps negation and numbers (they change the meaning)', () => {
    expect(normaliseText("I don't want to cancel")).toContain('not');
    expect(normaliseText('Is it 9.50 dollars?')).toContain('9.50');
  });
  it('drops CJK politeness, final particles and spaces between characters', () => {
    // Chinese is folded to Simplified characters (a recogniser may write either).
    expect(normaliseText('請問 診所 喺邊度呀？')).toBe('诊所喺边度');
  });
  it('stems regular and irregular forms', () => {
    expect(stem('parking')).toBe(stem('park'));
    expect(stem('accepted')).toBe(stem('accept'));
    expect(stem('children')).toBe('child');
    expect(stem('payment')).toBe(stem('pay'));
  });
});

describe('guard', () => {
  it('accepts paraphrases that agree on every checked fact', () => {
    expect(verdict('do you open on saturdays', 'Are you open on Saturday?').ok).toBe(true);
    expect(verdict('can i park at the clinic', 'Is there parking at the clinic?').ok).toBe(true);
    expect(verdict('what time do you open monday to friday', 'What are your hours on weekdays?').ok).toBe(true);
  });
  it('rejects a negation flip, in English, Spanish and Cantonese', () => {
    expect(verdict("I don't want to cancel my booking", 'I want to cancel my booking').reason).toBe('negation');
    expect(verdict('no quiero reservar', 'quiero reservar').reason).toBe('negation');
    expect(verdict('我唔想取消', '我想取消').reason).toBe('negation');
  });
  it('does not read politeness compounds as negation', () => {
    expect(verdict('唔該，我想取消', '我想取消').ok).toBe(true);
  });
  it('rejects a different weekday, an extra time of day, a holiday', () => {
    expect(verdict('are you open on sunday', 'are you open on saturday').reason).toBe('entity');
    expect(verdict('are you open tuesday evening', 'are you open on tuesday').reason).toBe('entity');
    expect(verdict('are you open at easter', 'are you open on weekdays').reason).toBe('entity');
    expect(verdict('你哋星期六開唔開', '你哋星期日開唔開').reason).toBe('entity');
  });
  it('rejects different numbers, digits or words', () => {
    expect(verdict('a table for four', 'a table for two').reason).toBe('number');
    expect(verdict('is it open after 7', 'is it open after 6').reason).toBe('number');
    expect(verdict('三個人幾多錢', '兩個人幾多錢').reason).toBe('number');
  });
  it('rejects one content word swapped for another', () => {
    expect(verdict('is there parking at the stadium', 'is there parking at the office').reason).toBe('content-swap');
    expect(verdict('i want to cancel my subscription', 'i want to cancel my order').reason).toBe('content-swap');
  });
  it('rejects another script or another Latin-script language', () => {
    expect(verdict('where is the office', '辦公室喺邊').reason).toBe('script');
    expect(verdict('where is the office please', 'dónde está la oficina por favor').reason).toBe('language');
  });
  it('reports whether the texts share a content word', () => {
    expect(verdict('what is the weather like', 'where is the clinic located').anchored).toBe(false);
    // "address" and "located" are one concept (the lexicon's "where").
    expect(verdict('what is your address', 'where is the clinic located').anchored).toBe(true);
    expect(verdict('where is the clinic', 'where is the clinic located').anchored).toBe(true);
  });
  it('parses Chinese numerals', () => {
    expect(parseCjkNumber('十二')).toBe(12);
    expect(parseCjkNumber('九十五')).toBe(95);
    expect(parseCjkNumber('二百五十')).toBe(250);
  });
});

describe('personal data detector', () => {
  it('flags phone numbers, emails, references, titled names and caller records', () => {
    expect(personalDataKind('Call me back on +1 (415) 555-0133')).toBe('digits');
    expect(personalDataKind('I sent it to jane.doe@example.com')).toBe('email');
    expect(personalDataKind('Your booking reference is HX7Q2A')).not.toBeNull();
    expect(personalDataKind('Mrs. Patel is booked in')).toBe('name');
    expect(personalDataKind('Your appointment is on Tuesday at 3 pm')).toBe('record');
  });
  it('passes generic answers', () => {
    expect(containsPersonalData("We're open Monday to Friday from 8 a.m. to 6 p.m.")).toBe(false);
    expect(containsPersonalData('A standard cleaning is 95 dollars without insurance.')).toBe(false);
    expect(containsPersonalData('We open at 10am on the 2nd floor.')).toBe(false);
  });
});
