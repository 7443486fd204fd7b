// Text language detection: accuracy on the labelled set (written for this project: callers'
// sentences in 20+ languages and Cantonese/Mandarin pairs), the audio fixtures' texts, short
// utterances, STT-reported languages and explicit requests to switch.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluate, markdownTable, matchesLabel, parseLabelled } from '../../engine/language/cli.ts';
import { chineseScript, chineseVariety, classifyChinese } from '../../engine/language/cantonese.ts';
import { detectLanguage, detectLanguageRequest, fromSttLanguage, isFiller } from '../../engine/language/detect.ts';

const labelled = parseLabelled(JSON.parse(readFileSync(new URL('../fixtures/lang/labelled.json', import.meta.url), 'utf8')), 'labelled.json');
const fixtureText = (name: string) => readFileSync(new URL(`../fixtures/audio/tts-${name}-hours.txt`, import.meta.url), 'utf8').trim();

describe('labelled set', () => {
  it('has at least 20 languages with 10 sentences each, plus Cantonese/Mandarin pairs', () => {
    const counts = new Map<string, number>();
    for (const it of labelled) counts.set(it.language, (counts.get(it.language) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n >= 10).length).toBeGreaterThanOrEqual(20);
    const pairs = new Map<string, Set<string>>();
    for (const it of labelled.filter((x) => x.pair)) pairs.set(it.pair!, (pairs.get(it.pair!) ?? new Set()).add(it.language));
    expect(pairs.size).toBeGreaterThanOrEqual(20);
    // Every pair holds Cantonese and Mandarin versions of the same sentence.
    for (const langs of pairs.values()) {
      expect([...langs].some((l) => l === 'zh-HK' || l === 'yue-CN')).toBe(true);
      expect([...langs].some((l) => l === 'zh-CN' || l === 'zh-TW')).toBe(true);
    }
  });

  it('is detected with ≥ 97% accuracy overall, ≥ 80% per language and every Cantonese/Mandarin pair right', () => {
    const e = evaluate(labelled);
    // Measured 263/264 (99.6%); the miss is a short Russian question ELD reads as Ukrainian.
    console.log(markdownTable(e));
    expect(e.accuracy).toBeGreaterThanOrEqual(0.97);
    for (const s of e.perLanguage) expect(s.accuracy, s.language).toBeGreaterThanOrEqual(0.8);
    expect(e.pairs.accuracy).toBe(1);
    for (const l of ['zh-HK', 'yue-CN', 'zh-CN', 'zh-TW']) expect(e.perLanguage.find((s) => s.language === l)?.accuracy, l).toBe(1);
  });

  it('gives correct full sentences enough confidence to switch on (≥ 0.8 for 90% of them)', () => {
    const confident = labelled.filter((it) => {
      const d = detectLanguage(it.text);
      return matchesLabel(d, it.language) && d!.confidence >= 0.8;
    }).length;
    expect(confident / labelled.length).toBeGreaterThanOrEqual(0.9);
  });
});

describe('detectLanguage', () => {
  it('recognises the audio fixtures\' texts', () => {
    const want: Record<string, string> = { en: 'en', es: 'es', fr: 'fr', de: 'de', cmn: 'zh-CN', yue: 'zh-HK' };
    for (const [name, label] of Object.entries(want)) {
      const d = detectLanguage(fixtureText(name));
      expect(matchesLabel(d, label), `${name}: ${JSON.stringify(d)}`).toBe(true);
      expect(d!.confidence, name).toBeGreaterThanOrEqual(0.8);
    }
    expect(detectLanguage(fixtureText('yue'))!.locale).toBe('zh-HK');
    expect(detectLanguage(fixtureText('cmn'))!.locale).toBe('zh-CN');
  });

  it('keeps short utterances and back-channel words below the switch threshold', () => {
    for (const t of ['ok', 'OK!', 'yes', 'no', 'yeah', 'sí', 'oui', 'ja', 'gracias', 'merci', '嗯', '嗯嗯', '好', '好呀', '係呀', '對', 'はい', '네']) {
      const d = detectLanguage(t);
      expect(d === null || d.confidence < 0.8, `${t}: ${JSON.stringify(d)}`).toBe(true);
    }
    expect(isFiller('ok ok')).toBe(true);
    expect(isFiller('I would like to book')).toBe(false);
  });

  it('returns null for text with no letters and for non-strings', () => {
    expect(detectLanguage('')).toBeNull();
    expect(detectLanguage('   ')).toBeNull();
    expect(detectLanguage('12:30 !!!')).toBeNull();
    expect(detectLanguage(undefined as unknown as string)).toBeNull();
  });

  it('uses scripts only one language writes', () => {
    expect(detectLanguage('こんにちは、予約をお願いします')!.locale).toBe('ja-JP');
    expect(detectLanguage('예약을 변경하고 싶어요')!.locale).toBe('ko-KR');
    expect(detectLanguage('Θέλω να κλείσω ραντεβού')!.locale).toBe('el-GR');
    // Khmer is in neither the registry nor ELD: never a confident, supported answer.
    const km = detectLanguage('ខ្ញុំចង់ណាត់ជួប');
    expect(km === null || !km.supported || km.confidence < 0.8).toBe(true);
  });
});

describe('Cantonese vs Mandarin discriminator', () => {
  it('reads the script from script-specific characters', () => {
    expect(chineseScript('你们几点开门').script).toBe('Hans');
    expect(chineseScript('你們幾點開門').script).toBe('Hant');
    expect(chineseScript('你好').script).toBeUndefined();
  });

  it('reads the variety from Cantonese and Mandarin words', () => {
    expect(chineseVariety('佢喺度食緊飯').variety).toBe('yue');
    expect(chineseVariety('他在吃饭呢').variety).toBe('cmn');
    expect(chineseVariety('我想约个时间').variety).toBeUndefined();
    const hk = classifyChinese('你哋聽日開唔開門呀？');
    expect(hk.locale).toBe('zh-HK');
    expect(hk.confidence).toBeGreaterThanOrEqual(0.8);
    expect(classifyChinese('你哋听日开唔开门呀？').locale).toBe('yue-CN');
    expect(classifyChinese('你們明天有開門嗎？').locale).toBe('zh-TW');
    expect(classifyChinese('你们明天有开门吗？').locale).toBe('zh-CN');
  });
});

describe('fromSttLanguage', () => {
  it('maps provider language reports to registry locales', () => {
    expect(fromSttLanguage('english')).toBe('en-US');
    expect(fromSttLanguage('Spanish')).toBe('es-MX');
    expect(fromSttLanguage('cantonese')).toBe('zh-HK');
    expect(fromSttLanguage('cantonese', '你哋听日开唔开门呀')).toBe('yue-CN');
    expect(fromSttLanguage('chinese')).toBe('zh-CN');
    expect(fromSttLanguage('chinese', '你哋聽日開唔開門呀？')).toBe('zh-HK');
    expect(fromSttLanguage('chinese', '請問你們明天有開門嗎？')).toBe('zh-TW');
    expect(fromSttLanguage('zh-HK')).toBe('zh-HK');
    expect(fromSttLanguage('yue-HK')).toBe('zh-HK');
    expect(fromSttLanguage('de')).toBe('de-DE');
    expect(fromSttLanguage('norwegian')).toBe('nb-NO');
    expect(fromSttLanguage('klingon')).toBeUndefined();
    expect(fromSttLanguage('')).toBeUndefined();
    expect(fromSttLanguage(undefined)).toBeUndefined();
  });
});

describe('detectLanguageRequest', () => {
  it('recognises explicit requests in several languages', () => {
    const cases: Array<[string, string]> = [
      ['Can we speak Spanish?', 'es-MX'],
      ['¿Hablas inglés?', 'en-US'],
      ['可以講廣東話嗎', 'zh-HK'],
      ['说普通话', 'zh-CN'],
      ['Parlez-vous anglais ?', 'en-US'],
      ['Können wir Deutsch sprechen?', 'de-DE'],
      ['Sprechen Sie Englisch?', 'en-US'],
      ['英語で話せますか', 'en-US'],
      ['영어로 말해 주세요', 'en-US'],
      ['in English please', 'en-US'],
      ['你識唔識講英文？', 'en-US'],
      ['Tôi muốn nói tiếng Việt', 'vi-VN'],
      ['Você fala português?', 'pt-BR'],
      ['Por favor, en español', 'es-MX'],
      ["Can we speak Spanish? I'm not good at English.", 'es-MX'],
    ];
    for (const [text, locale] of cases) expect(detectLanguageRequest(text)?.locale, text).toBe(locale);
  });

  it('marks generic Chinese requests and reads their variety from the text', () => {
    expect(detectLanguageRequest('Can you speak Chinese?')).toEqual({ locale: 'zh-CN', generic: true });
    expect(detectLanguageRequest('可以講中文嗎')?.generic).toBe(true);
  });

  it('ignores negations and incidental mentions', () => {
    for (const t of ['No hablo inglés', 'I do not speak Spanish', "I don't speak French", '我唔識講英文', '我聽不懂英文', 'My Spanish teacher called me yesterday', 'Mi hijo estudia inglés en la escuela', 'ok', '']) expect(detectLanguageRequest(t), t).toBeUndefined();
  });
});

describe('detectableLocales', () => {
  it('lists the registry locales text detection can produce, Chinese varieties included', async () => {
    const { detectableLocales } = await import('../../engine/language/detect.ts');
    const list = detectableLocales();
    expect(list.length).toBeGreaterThanOrEqual(50);
    for (const c of ['en-US', 'es-MX', 'nb-NO', 'ja-JP', 'zh-CN', 'zh-TW', 'zh-HK', 'yue-CN']) expect(list).toContain(c);
  });
});
