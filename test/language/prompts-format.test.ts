// Per-language system prompts and the spoken formatting of numbers, prices, dates and times.
import { describe, expect, it } from 'vitest';
import { parseWorkflow } from '../../engine/workflow.ts';
import { languageNotesFor, systemPromptFor, workflowLine } from '../../engine/language/prompts.ts';
import { formatCurrency, formatDate, formatDateTime, formatList, formatNumber, formatRelative, formatTime } from '../../engine/language/format.ts';

const workflow = parseWorkflow(
  {
    id: 'clinic',
    language: 'en-US',
    prompt: 'You are the receptionist of Harbour Dental.',
    prompts: { es: 'Eres la recepcionista de Harbour Dental.', 'zh-HK': '你係海港牙科嘅接待員。' },
  },
  'test',
);

describe('systemPromptFor', () => {
  it('uses the workflow\'s own prompt for the locale or its base language', () => {
    const es = systemPromptFor(workflow, 'es-MX');
    expect(es.startsWith('Eres la recepcionista de Harbour Dental.')).toBe(true);
    expect(es).toMatch(/answer only in Spanish \(Mexico\) \(español \(México\)\)/);
    expect(systemPromptFor(workflow, 'zh-HK').startsWith('你係海港牙科嘅接待員。')).toBe(true);
    // Macau has no prompt of its own: the Hong Kong Cantonese one serves it.
    expect(systemPromptFor(workflow, 'zh-MO').startsWith('你係海港牙科嘅接待員。')).toBe(true);
  });

  it('otherwise adds the language\'s register and cultural notes to the main prompt', () => {
    const gz = systemPromptFor(workflow, 'yue-CN');
    expect(gz.startsWith('You are the receptionist of Harbour Dental.')).toBe(true);
    expect(gz).toMatch(/Guangzhou Cantonese/);
    expect(gz).toMatch(/Simplified/);
    const de = systemPromptFor(workflow, 'de');
    expect(de).toMatch(/"Sie"/);
    expect(de).toMatch(/answer only in German/);
    const ja = systemPromptFor(workflow, 'ja-JP');
    expect(ja).toMatch(/です\/ます/);
    // A Cantonese call never gets told to answer in Mandarin, and vice versa.
    const wfNoHk = parseWorkflow({ id: 'plain', prompt: 'Be helpful.' }, 'test');
    expect(systemPromptFor(wfNoHk, 'zh-HK')).toMatch(/Hong Kong Cantonese written in Traditional Chinese/);
    expect(systemPromptFor(wfNoHk, 'zh-CN')).toMatch(/Mandarin written in Simplified/);
    expect(languageNotesFor('sw-KE').formality).toMatch(/polite register/);
  });

  it('falls back to the workflow language for an unknown locale', () => {
    expect(systemPromptFor(workflow, 'xx-YY')).toMatch(/answer only in English \(United States\)/);
  });
});

describe('workflowLine', () => {
  const wf = parseWorkflow({ id: 'lines', goodbye: 'Goodbye!', lines: { es: { goodbye: '¡Adiós!' }, 'zh-HK': { goodbye: '拜拜！', fallback: '唔好意思。' } } }, 'test');
  it('finds a translation as prompts are found: locale, base language, same-script sibling', () => {
    expect(workflowLine(wf, 'goodbye', 'es-AR')).toBe('¡Adiós!');
    expect(workflowLine(wf, 'goodbye', 'zh-HK')).toBe('拜拜！');
    expect(workflowLine(wf, 'goodbye', 'zh-MO')).toBe('拜拜！'); // Macau Cantonese uses the Hong Kong line
  });
  it('otherwise says the workflow\'s own line: other kinds, other languages, unknown codes', () => {
    expect(workflowLine(wf, 'fallback', 'es-ES')).toBe(wf.fallback);
    expect(workflowLine(wf, 'goodbye', 'zh-CN')).toBe('Goodbye!'); // Mandarin, not Cantonese
    expect(workflowLine(wf, 'goodbye', 'fr-FR')).toBe('Goodbye!');
    expect(workflowLine(wf, 'goodbye', 'xx-nope')).toBe('Goodbye!');
  });
  it('rejects an empty translation when the workflow is loaded', () => {
    expect(() => parseWorkflow({ id: 'bad', lines: { es: { goodbye: '' } } }, 'bad.json')).toThrow(/lines\.es\.goodbye/);
  });
});

describe('spoken formatting', () => {
  const at = Date.UTC(2025, 2, 8, 7, 30); // Saturday 8 March 2025, 15:30 in Hong Kong
  const tz = { timeZone: 'Asia/Hong_Kong' };

  it('formats numbers with each locale\'s grouping', () => {
    expect(formatNumber(1234567.5, 'en-US')).toBe('1,234,567.5');
    expect(formatNumber(1234567.5, 'de-DE')).toBe('1.234.567,5');
    expect(formatNumber(1234567.5, 'hi-IN')).toBe('12,34,567.5');
    expect(formatNumber(1234567.5, 'fr-FR').replace(/\s/g, ' ')).toBe('1 234 567,5');
    expect(formatNumber(42, 'ar-SA')).toBe('٤٢');
  });

  it('names currencies, defaulting to the locale\'s own', () => {
    expect(formatCurrency(12.5, 'en-US')).toBe('12.50 US dollars');
    expect(formatCurrency(12.5, 'zh-HK')).toBe('12.50 港幣');
    expect(formatCurrency(12.5, 'zh-MO')).toBe('12.50 澳門元');
    expect(formatCurrency(12.5, 'es-MX')).toBe('12.50 pesos mexicanos');
    expect(formatCurrency(12.5, 'de-DE')).toBe('12,50 Euro');
    expect(formatCurrency(12.5, 'en-US', 'EUR')).toBe('12.50 euros');
    expect(formatCurrency(12.5, 'en-US', 'USD', 'symbol')).toBe('$12.50');
  });

  it('formats dates and times the caller\'s way', () => {
    expect(formatDate(at, 'en-US', tz)).toBe('Saturday, March 8');
    expect(formatDate(at, 'fr-FR', tz)).toBe('samedi 8 mars');
    expect(formatDate(at, 'de-DE', { ...tz, year: true })).toBe('Samstag, 8. März 2025');
    expect(formatDate(at, 'zh-HK', tz)).toBe('3月8日 星期六');
    expect(formatTime(at, 'en-US', tz)).toBe('3:30 PM');
    expect(formatTime(at, 'en-GB', tz)).toBe('15:30');
    expect(formatTime(at, 'zh-HK', tz)).toBe('下晝3:30'); // Cantonese "afternoon", not Mandarin 下午
    expect(formatTime(at, 'zh-TW', tz)).toBe('下午3:30');
    expect(formatTime(at, 'zh-CN', tz)).toBe('15:30');
    expect(formatDateTime(at, 'en-US', tz)).toMatch(/^Saturday, March 8.*3:30\sPM$/);
    expect(formatList(['Monday', 'Tuesday', 'Friday'], 'en-US')).toBe('Monday, Tuesday, and Friday');
    expect(formatList(['星期一', '星期二'], 'zh-HK')).toBe('星期一同星期二');
    expect(formatRelative(1, 'day', 'zh-HK')).toBe('聽日');
    expect(formatRelative(1, 'day', 'es-MX')).toBe('mañana');
  });

  it('rejects bad input with a clear error', () => {
    expect(() => formatNumber(Number.NaN, 'en-US')).toThrow(/formatNumber: not a finite number/);
    expect(() => formatCurrency(1, 'en-US', 'dollars')).toThrow(/not an ISO 4217 currency code/);
    expect(() => formatDate('not a date', 'en-US')).toThrow(/formatDate: not a valid date/);
    expect(() => formatTime(at, 'en-US', { timeZone: 'Mars/Olympus' })).toThrow(/formatTime:/);
    expect(() => formatDate(at, 'xx-YY')).toThrow(/unknown locale "xx-YY"/);
  });
});
