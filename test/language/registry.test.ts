// The locale registry is data: these checks keep it honest (unique codes, every field filled,
// voices named the way each provider names them and present where they must exist).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getLocale, listLocales, relayLanguageFor, sameLanguage, sttLocaleFor, voiceFor } from '../../engine/language/registry.ts';

const require = createRequire(import.meta.url);

/**
 * Voice names espeak-ng accepts from the packaged data: each file under espeak-ng-data/lang
 * gives its file name and the `language` lines inside it. The file table lives in the
 * Emscripten loader (espeak-ng.js); the bytes in espeak-ng.data.
 */
function espeakVoices(): Set<string> {
  const js = require.resolve('@echogarden/espeak-ng-emscripten');
  const loader = readFileSync(js, 'utf8');
  const data = readFileSync(join(dirname(js), 'espeak-ng.data'));
  const names = new Set<string>();
  const re = /filename:"\/usr\/share\/espeak-ng-data\/lang\/([^"]+)",start:(\d+),end:(\d+)/g;
  for (const m of loader.matchAll(re)) {
    names.add(m[1].split('/').pop()!.toLowerCase());
    const body = data.subarray(Number(m[2]), Number(m[3])).toString('utf8');
    for (const lang of body.matchAll(/^language\s+(\S+)/gm)) names.add(lang[1].toLowerCase());
  }
  return names;
}

/** OpenAI's built-in TTS voices, as the installed SDK types them. */
function openaiVoices(): Set<string> {
  const dts = readFileSync(join(dirname(require.resolve('openai')), 'resources/audio/speech.d.ts'), 'utf8');
  const line = dts.split('\n').find((l) => /^\s*voice: string \|/.test(l));
  if (!line) throw new Error('cannot find the voice union in openai/resources/audio/speech.d.ts');
  return new Set([...line.matchAll(/'([a-z]+)'/g)].map((m) => m[1]));
}

const AZURE_VOICE = /^([a-z]{2,3}-[A-Z]{2})-[A-Z][A-Za-z]*Neural$/;

describe('locale registry', () => {
  const locales = listLocales();

  it('has at least 50 locales with unique codes and aliases that do not shadow codes', () => {
    expect(locales.length).toBeGreaterThanOrEqual(50);
    const codes = locales.map((l) => l.code.toLowerCase());
    expect(new Set(codes).size).toBe(codes.length);
    const aliasOwner = new Map<string, string>();
    for (const l of locales)
      for (const a of l.aliases) {
        const key = a.toLowerCase();
        expect(codes, `alias ${a} of ${l.code} is another entry's code`).not.toContain(key);
        expect(aliasOwner.get(key) ?? l.code, `alias ${a} claimed twice`).toBe(l.code);
        aliasOwner.set(key, l.code);
      }
  });

  it('fills every field of every entry', () => {
    for (const l of locales) {
      for (const [k, v] of Object.entries({ code: l.code, name: l.name, nativeName: l.nativeName, language: l.language, script: l.script, espeak: l.espeak, relay: l.relay, intl: l.intl, currency: l.currency, sttAzure: l.stt.azure, sttOpenai: l.stt.openai, openaiF: l.openai.female, openaiM: l.openai.male }))
        expect(typeof v === 'string' && v.length > 0, `${l.code}.${k}`).toBe(true);
      expect(l.code).toMatch(/^[a-z]{2,3}-[A-Z]{2}$/);
      expect(l.script).toMatch(/^[A-Z][a-z]{3}$/);
      expect(l.currency).toMatch(/^[A-Z]{3}$/);
      expect(l.stt.openai).toMatch(/^[a-z]{2}$/);
      expect(['ltr', 'rtl']).toContain(l.direction);
      expect(l.direction === 'rtl', `${l.code} direction vs script ${l.script}`).toBe(l.script === 'Arab' || l.script === 'Hebr');
      expect(l.azure.female ?? l.azure.male, `${l.code} has no Azure voice`).toBeTruthy();
      // Intl must know the formatting locale and currency, or spoken prices would fail mid-call.
      expect(Intl.NumberFormat.supportedLocalesOf([l.intl]).length, `${l.code}.intl ${l.intl}`).toBe(1);
      expect(() => new Intl.NumberFormat(l.intl, { style: 'currency', currency: l.currency })).not.toThrow();
    }
  });

  it('names Azure voices <locale>-<Name>Neural, from the entry\'s own locale unless a note says why not', () => {
    for (const l of locales) {
      for (const v of [l.azure.female, l.azure.male, ...l.azure.alternates].filter((x): x is string => !!x)) {
        const m = AZURE_VOICE.exec(v);
        expect(m, `${l.code}: ${v}`).not.toBeNull();
        expect(m![1], `${l.code}: ${v}`).toBe(l.azure.locale);
      }
      if (l.azure.locale !== l.code) expect(l.note, `${l.code} borrows ${l.azure.locale} voices without saying why`).toMatch(new RegExp(l.azure.locale));
    }
  });

  it('uses only espeak-ng voices present in the installed espeak-ng.data', () => {
    const voices = espeakVoices();
    expect(voices.size).toBeGreaterThan(100); // the data parsed: a failure here is the reader's
    expect(voices.has('yue') && voices.has('cmn') && voices.has('en-us')).toBe(true);
    for (const l of locales) expect(voices.has(l.espeak.toLowerCase()), `${l.code}: espeak voice ${l.espeak}`).toBe(true);
  });

  it('uses only OpenAI voices the installed SDK knows', () => {
    const voices = openaiVoices();
    expect(voices.size).toBeGreaterThan(5);
    for (const l of locales) {
      expect(voices.has(l.openai.female), `${l.code}: ${l.openai.female}`).toBe(true);
      expect(voices.has(l.openai.male), `${l.code}: ${l.openai.male}`).toBe(true);
    }
  });

  it('covers Cantonese properly: Hong Kong, Macau (on Hong Kong voices) and Guangzhou', () => {
    const hk = getLocale('zh-HK')!;
    expect([hk.azure.female, hk.azure.male, ...hk.azure.alternates]).toEqual(['zh-HK-HiuMaanNeural', 'zh-HK-WanLungNeural', 'zh-HK-HiuGaaiNeural']);
    expect(hk.language).toBe('yue');
    expect(hk.script).toBe('Hant');
    expect(hk.espeak).toBe('yue');

    const mo = getLocale('zh-MO')!;
    expect(mo.code).toBe('zh-MO');
    expect(mo.azure.locale).toBe('zh-HK');
    expect(voiceFor('zh-MO', 'azure', 'female')).toBe('zh-HK-HiuMaanNeural');
    expect(voiceFor('zh-MO', 'azure', 'male')).toBe('zh-HK-WanLungNeural');
    expect(sttLocaleFor('zh-MO')).toBe('zh-HK');
    expect(mo.note).toMatch(/Macau/);
    expect(mo.currency).toBe('MOP');

    const gz = getLocale('yue-CN')!;
    expect(voiceFor('yue-CN', 'azure', 'female')).toBe('yue-CN-XiaoMinNeural');
    expect(voiceFor('yue-CN', 'azure', 'male')).toBe('yue-CN-YunSongNeural');
    expect(gz.script).toBe('Hans');
    expect(sameLanguage('yue-CN', 'zh-HK')).toBe(true);

    const cn = getLocale('zh-CN')!;
    const tw = getLocale('zh-TW')!;
    expect(cn.code).not.toBe(tw.code);
    expect([cn.script, tw.script]).toEqual(['Hans', 'Hant']);
    expect(sameLanguage(cn, tw)).toBe(false);
    expect(sameLanguage(cn, hk)).toBe(false);
  });

  it('resolves codes tolerantly', () => {
    const cases: Array<[string, string | undefined]> = [
      ['en', 'en-US'], ['EN_us', 'en-US'], ['en-gb', 'en-GB'], ['en-XX', 'en-US'], ['es', 'es-MX'], ['es-PE', 'es-MX'],
      ['yue', 'zh-HK'], ['yue-HK', 'zh-HK'], ['zh-Hant-HK', 'zh-HK'], ['zh-mo', 'zh-MO'], ['yue-Hans', 'yue-CN'],
      ['zh', 'zh-CN'], ['cmn', 'zh-CN'], ['zh-Hant', 'zh-TW'], ['zh-Hant-XX', 'zh-TW'], ['zh-SG', 'zh-CN'],
      ['no', 'nb-NO'], ['iw', 'he-IL'], ['  fr  ', 'fr-FR'],
      ['xx', undefined], ['', undefined], ['klingon', undefined],
    ];
    for (const [input, want] of cases) expect(getLocale(input)?.code, input).toBe(want);
    expect(getLocale(undefined)).toBeUndefined();
  });

  it('answers provider questions and names unknown locales in errors', () => {
    expect(voiceFor('en', 'azure')).toBe('en-US-JennyNeural');
    expect(voiceFor('de-DE', 'azure', 'male')).toBe('de-DE-ConradNeural');
    expect(voiceFor('fr-FR', 'espeak')).toBe('fr-fr');
    expect(voiceFor('ja-JP', 'openai', 'male')).toBe(getLocale('ja-JP')!.openai.male);
    expect(sttLocaleFor('zh-HK', 'openai')).toBe('zh');
    expect(sttLocaleFor('nb-NO', 'openai')).toBe('no');
    expect(relayLanguageFor('es')).toBe('es-MX');
    expect(() => voiceFor('xx-YY', 'azure')).toThrow(/unknown locale "xx-YY"/);
    expect(() => voiceFor('en-US', 'polly' as never)).toThrow(/unknown TTS provider/);
    expect(() => sttLocaleFor('en-US', 'google' as never)).toThrow(/unknown STT provider/);
  });
});

describe('ConversationRelay language codes', () => {
  it('gives Cantonese as zh-HK (Twilio\'s own ConversationRelay demo, Deepgram), with the sources in the note', () => {
    for (const code of ['zh-HK', 'yue', 'yue-HK', 'zh-MO', 'yue-CN']) expect(relayLanguageFor(code), code).toBe('zh-HK');
    const note = getLocale('zh-HK')!.note!;
    expect(note).toMatch(/twilio-demos\/conversation-relay-translator/);
    expect(note).toMatch(/deepgram/i);
    expect(note).toMatch(/yue-Hant-HK/);
  });

  it('takes a workflow\'s own code per locale, keyed by any spelling the registry resolves', () => {
    expect(relayLanguageFor('zh-HK', { 'zh-HK': 'yue-HK' })).toBe('yue-HK');
    expect(relayLanguageFor('yue', { 'zh-HK': 'yue-HK' })).toBe('yue-HK');
    expect(relayLanguageFor('zh-HK', { yue: 'yue-HK' })).toBe('yue-HK');
    expect(relayLanguageFor('zh-MO', { 'zh-HK': 'yue-HK' })).toBe('zh-HK'); // Macau is its own locale
    expect(relayLanguageFor('en', { 'es-MX': 'es-US' })).toBe('en-US');
  });
});
