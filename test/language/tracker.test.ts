// The per-call language state machine: what switches a call's language, what must not, and
// what the session changes when it does.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../engine/config.ts';
import { detectLanguage } from '../../engine/language/detect.ts';
import { LanguageTracker, languageSettings } from '../../engine/language/tracker.ts';

const config = loadConfig({});
const tracker = (initial: string, extra: Partial<ConstructorParameters<typeof LanguageTracker>[1]> = {}) =>
  new LanguageTracker(initial, { switchConfidence: config.LANGUAGE_SWITCH_CONFIDENCE, enabled: config.PERFORMANCE_LANGUAGE_OPTIMIZATION, ...extra });

describe('LanguageTracker', () => {
  it('starts from the configured threshold and a resolved locale', () => {
    expect(config.LANGUAGE_SWITCH_CONFIDENCE).toBe(0.8);
    expect(tracker('en').current).toBe('en-US');
    expect(tracker('yue').current).toBe('zh-HK');
    expect(() => tracker('xx-YY')).toThrow(/unknown initial locale "xx-YY"/);
    expect(() => tracker('en', { switchConfidence: 2 })).toThrow(/switchConfidence/);
  });

  it('switches on the turn that shows a confident new language', () => {
    const t = tracker('en-US');
    const r = t.observe('Buenas tardes, quisiera hacer una cita para el martes.');
    expect(r).toMatchObject({ switched: true, from: 'en-US', to: 'es-MX', reason: 'detected' });
    expect(r.confidence).toBeGreaterThanOrEqual(0.8);
    expect(t.current).toBe('es-MX');
  });

  it('never flips on short utterances, however many', () => {
    const t = tracker('es-MX');
    for (const u of ['ok', 'yes', 'OK!', 'no', '嗯', '好', 'sí', 'ja', 'oui', 'yeah', 'merci', 'はい']) {
      const r = t.observe(u);
      expect(r.switched, u).toBe(false);
    }
    expect(t.current).toBe('es-MX');
  });

  it('stays put on text of its own language or a close neighbour scoring alike', () => {
    const t = tracker('es-ES');
    expect(t.observe('¿Me puede decir cuánto cuesta la limpieza dental?').switched).toBe(false);
    expect(t.current).toBe('es-ES'); // same language: the region is kept
  });

  it('switches on moderate evidence only when it repeats on consecutive turns', () => {
    const moderate = 'Kargom hâlâ gelmedi.';
    const moderate2 = 'Hâlâ bekliyorum.';
    // Precondition: both are moderate evidence (above the 0.5 floor, below the threshold).
    for (const m of [moderate, moderate2]) {
      const c = detectLanguage(m)!.confidence;
      expect(c, m).toBeGreaterThanOrEqual(0.6);
      expect(c, m).toBeLessThan(0.8);
    }

    const t = tracker('en-US');
    expect(t.observe(moderate).switched).toBe(false);
    // A confident turn in the current language resets the evidence.
    expect(t.observe('I am still waiting for my parcel to arrive.').switched).toBe(false);
    expect(t.observe(moderate).switched).toBe(false);
    const r = t.observe(moderate2);
    expect(r).toMatchObject({ switched: true, to: 'tr-TR', reason: 'detected' });
  });

  it('does not bounce back after a switch on a short or moderate turn', () => {
    const t = tracker('en-US');
    t.observe('Hola, buenas tardes, quisiera cambiar mi cita del jueves.');
    expect(t.current).toBe('es-MX');
    expect(t.observe('ok').switched).toBe(false);
    expect(t.observe('sure, that works').switched).toBe(false);
    expect(t.current).toBe('es-MX');
  });

  it('switches at once on explicit requests, in the caller\'s language or another', () => {
    const cases: Array<[string, string, string]> = [
      ['es-MX', 'can we speak Spanish?', 'es-MX'],
      ['en-US', 'can we speak Spanish?', 'es-MX'],
      ['es-MX', '¿hablas inglés?', 'en-US'],
      ['en-US', '可以講廣東話嗎', 'zh-HK'],
      ['zh-HK', '说普通话', 'zh-CN'],
      ['zh-CN', '可以講廣東話嗎', 'zh-HK'],
    ];
    for (const [from, text, to] of cases) {
      const t = tracker(from);
      const r = t.observe(text);
      expect(t.current, `${from} + ${text}`).toBe(to);
      expect(r.switched, `${from} + ${text}`).toBe(from !== to);
      if (r.switched) expect(r.reason).toBe('requested');
    }
  });

  it('keeps a Chinese variety when the caller just asks for "Chinese"', () => {
    const t = tracker('zh-HK');
    expect(t.observe('可以講中文嗎').switched).toBe(false);
    expect(t.current).toBe('zh-HK');
    const e = tracker('en-US');
    expect(e.observe('Can you speak Chinese?')).toMatchObject({ switched: true, to: 'zh-CN', reason: 'requested' });
  });

  it('tells Cantonese from Mandarin, and needs confidence to move between them', () => {
    const t = tracker('zh-HK');
    // Cantonese in Macau's entry is the same language: no switch.
    const mo = tracker('zh-MO');
    expect(mo.observe('你好，你哋星期六幾點開門呀？').switched).toBe(false);
    // Marker-poor text that leans Mandarin does not move a Cantonese call, even twice.
    expect(detectLanguage('洗牙一次要多少錢？')!.confidence).toBeLessThan(0.8);
    expect(t.observe('洗牙一次要多少錢？').switched).toBe(false);
    expect(t.observe('洗牙一次要多少錢？').switched).toBe(false);
    // Clear Mandarin does.
    expect(t.observe('我想问一下你们明天有没有时间？')).toMatchObject({ switched: true, to: 'zh-CN', reason: 'detected' });
    // And clear Cantonese brings it back.
    expect(t.observe('你好，你哋星期六幾點開門呀？')).toMatchObject({ switched: true, to: 'zh-HK' });
  });

  it('trusts a recogniser that reports a different language, and not one that echoes its setting', () => {
    const t = tracker('en-US');
    expect(t.observe('quisiera hacer una cita para el martes', 'spanish')).toMatchObject({ switched: true, to: 'es-MX', reason: 'stt' });
    const c = tracker('zh-HK');
    expect(c.observe('你们明天几点开门？我想预约一下', 'chinese')).toMatchObject({ switched: true, to: 'zh-CN', reason: 'stt' });
    // ConversationRelay's prompt `lang` repeats the configured language: the text still decides.
    const r = tracker('en-US');
    expect(r.observe('Bonjour, je voudrais prendre rendez-vous pour jeudi matin.', 'en-US')).toMatchObject({ switched: true, to: 'fr-FR', reason: 'detected' });
    // A short turn is thin evidence even with a language id from the recogniser.
    expect(tracker('en-US').observe('sí', 'spanish').switched).toBe(false);
  });

  it('prefers the workflow\'s own locale for the new language', () => {
    const t = tracker('en-GB', { preferred: ['es-ES', 'fr-CA'] });
    expect(t.observe('Buenas tardes, quisiera hacer una cita para el martes.').to).toBe('es-ES');
    expect(t.observe('Bonjour, je voudrais prendre rendez-vous pour jeudi matin.').to).toBe('fr-CA');
  });

  it('never changes language when the optimisation is off', () => {
    const t = tracker('en-US', { enabled: false });
    expect(t.observe('can we speak Spanish?').switched).toBe(false);
    expect(t.observe('Buenas tardes, quisiera hacer una cita para el martes.').switched).toBe(false);
    expect(t.current).toBe('en-US');
  });

  it('treats empty and odd input as no evidence', () => {
    const t = tracker('en-US');
    expect(t.observe('').switched).toBe(false);
    expect(t.observe('   ').switched).toBe(false);
    expect(t.observe(undefined as unknown as string).switched).toBe(false);
    expect(t.observe('12345 !!!').switched).toBe(false);
    expect(t.current).toBe('en-US');
  });
});

describe('languageSettings', () => {
  it('gives the voice, recogniser, relay message and cache partition for a locale', () => {
    const mo = languageSettings('zh-MO', 'azure');
    expect(mo).toMatchObject({
      locale: 'zh-MO',
      voice: 'zh-HK-HiuMaanNeural',
      stt: { azure: 'zh-HK', openai: 'zh' },
      relayMessage: { type: 'language', ttsLanguage: 'zh-HK', transcriptionLanguage: 'zh-HK' },
      cacheLanguage: 'zh-MO',
    });
    expect(languageSettings('zh-HK', 'azure').cacheLanguage).not.toBe(languageSettings('zh-CN', 'azure').cacheLanguage);
    expect(languageSettings('es', 'espeak').voice).toBe('es-419');
    expect(languageSettings('ar-SA', 'azure', { gender: 'male' })).toMatchObject({ voice: 'ar-SA-HamedNeural', direction: 'rtl' });
    // A workflow's own voice for the locale wins.
    expect(languageSettings('en-US', 'espeak', { voices: { 'en-US': 'en-us-nyc' } }).voice).toBe('en-us-nyc');
    expect(() => languageSettings('xx', 'azure')).toThrow(/unknown locale/);
  });
});
