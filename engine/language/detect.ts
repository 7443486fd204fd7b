// Which language a caller is using: from text (ConversationRelay prompts, STT without language
// info) and from the language an STT provider reports. Text goes through a script census first
// (kana → Japanese, Hangul → Korean, Han → the Cantonese/Mandarin discriminator, scripts used by
// one language → that language), then the ELD n-gram detector for everything else.
import { eld } from 'eld/medium';
import { classifyChinese } from './cantonese.ts';
import { getLocale, type LocaleInfo } from './registry.ts';

export interface Detection {
  /** Registry locale code (e.g. "es-MX", "zh-HK"); a bare ISO code when `supported` is false. */
  locale: string;
  /** 0..1; short utterances score low whatever the language. */
  confidence: number;
  /** ISO 15924 script, where the text shows it (Chinese: only when script-specific characters appear). */
  script?: string;
  /** False when the language is recognised but not in the registry. */
  supported: boolean;
  /** Other locales scoring almost as well (closely related languages), best first. */
  alternatives: string[];
  /** Which path decided: n-gram detector, Chinese discriminator or a script only one language uses. */
  method: 'eld' | 'chinese' | 'script';
}

// Scripts written by one registry language (or as good as): the script alone decides.
const SINGLE_LANGUAGE_SCRIPTS: Array<[RegExp, string, string]> = [
  [/\p{Script=Hangul}/u, 'ko', 'Kore'],
  [/\p{Script=Greek}/u, 'el', 'Grek'],
  [/\p{Script=Hebrew}/u, 'he', 'Hebr'],
  [/\p{Script=Thai}/u, 'th', 'Thai'],
  [/\p{Script=Georgian}/u, 'ka', 'Geor'],
  [/\p{Script=Armenian}/u, 'hy', 'Armn'],
  [/\p{Script=Ethiopic}/u, 'am', 'Ethi'],
  [/\p{Script=Sinhala}/u, 'si', 'Sinh'],
  [/\p{Script=Myanmar}/u, 'my', 'Mymr'],
  [/\p{Script=Gujarati}/u, 'gu', 'Gujr'],
  [/\p{Script=Tamil}/u, 'ta', 'Taml'],
  [/\p{Script=Telugu}/u, 'te', 'Telu'],
  [/\p{Script=Kannada}/u, 'kn', 'Knda'],
  [/\p{Script=Malayalam}/u, 'ml', 'Mlym'],
  [/\p{Script=Bengali}/u, 'bn', 'Beng'],
];
const HAN = /\p{Script=Han}/u;
const KANA = /[\p{Script=Hiragana}\p{Script=Katakana}]/u;
const LETTER = /\p{L}/u;
const SCRIPT_OF: Array<[RegExp, string]> = [
  [/\p{Script=Latin}/u, 'Latn'],
  [/\p{Script=Cyrillic}/u, 'Cyrl'],
  [/\p{Script=Arabic}/u, 'Arab'],
  [/\p{Script=Devanagari}/u, 'Deva'],
];

/** Back-channel words that say nothing about the language and must never switch it. */
const FILLERS = new Set(
  [
    'ok', 'okay', 'k', 'yes', 'yeah', 'yep', 'no', 'nope', 'hmm', 'hm', 'mm', 'mhm', 'uh', 'um', 'uh huh', 'uh-huh', 'ah', 'oh',
    'right', 'sure', 'hello', 'hi', 'bye', 'thanks', 'si', 'sí', 'oui', 'non', 'ja', 'nein', 'da', 'nie', 'tak', 'ne', 'evet',
    'hai', 'はい', 'ええ', '네', '예', '응', '嗯', '哦', '喔', '噢', '好', '係', '对', '對', '是', '唔該', '谢谢', '謝謝', '多謝',
    'ciao', 'hola', 'allo', 'allô', 'alo', 'aló', 'merci', 'gracias', 'danke', 'grazie', 'obrigado', 'obrigada',
  ].map((w) => w.normalize('NFC')),
);

/** Strips punctuation and case so "OK!!" and "ok" compare equal. */
function bare(text: string): string {
  return text.normalize('NFC').toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s+/g, ' ').trim();
}

export function isFiller(text: string): boolean {
  const b = bare(text);
  if (b === '') return true;
  if (FILLERS.has(b)) return true;
  // "ok ok", "yes yes", "嗯嗯", "好好好": repetitions of one back-channel word.
  const words = b.split(' ');
  if (words.length > 1 && words.every((w) => FILLERS.has(w))) return true;
  const chars = [...b];
  return chars.length <= 3 && chars.every((c) => FILLERS.has(c));
}

/**
 * How much text there is to judge by, 0..1. Han and kana carry a word each, Hangul syllables
 * half of one; alphabetic text needs about four words before a verdict is worth switching on.
 */
export function evidenceWeight(text: string): number {
  let weighted = 0;
  for (const c of text) {
    if (HAN.test(c) || KANA.test(c)) weighted += 3;
    else if (/\p{Script=Hangul}/u.test(c)) weighted += 2;
    else if (LETTER.test(c)) weighted += 1;
  }
  const words = text.trim().split(/\s+/).filter((w) => LETTER.test(w)).length;
  return Math.min(1, Math.max(words / 4, weighted / 22));
}

// ELD returns an empty result for text it cannot judge; its detector is shared and synchronous.
function eldScores(text: string): { scores: Array<[string, number]>; reliable: boolean } {
  const r = eld.detect(text);
  return { scores: Object.entries(r.getScores()).sort((a, b) => b[1] - a[1]), reliable: r.isReliable() };
}

function toLocale(iso: string): LocaleInfo | undefined {
  return getLocale(iso);
}

function result(locale: LocaleInfo | undefined, iso: string, confidence: number, method: Detection['method'], script?: string, alternatives: string[] = []): Detection {
  return {
    locale: locale?.code ?? iso,
    confidence: Math.round(Math.max(0, Math.min(1, confidence)) * 1000) / 1000,
    script: script ?? locale?.script,
    supported: locale !== undefined,
    alternatives,
    method,
  };
}

/**
 * Detects the language of a caller's text. Returns null for text with no letters at all.
 * Confidence blends how much text there is with how clear the verdict is; back-channel words
 * ("ok", "嗯") get a low score so they can never switch a call's language.
 */
export function detectLanguage(text: string): Detection | null {
  if (typeof text !== 'string') return null;
  const clean = text.normalize('NFC').trim();
  if (![...clean].some((c) => LETTER.test(c))) return null;

  const weight = evidenceWeight(clean);
  const filler = isFiller(clean) ? 0.3 : 1;

  // Census of the scripts present: the dominant one routes the text.
  let han = 0;
  let kana = 0;
  let letters = 0;
  const single = new Map<string, number>();
  for (const c of clean) {
    if (!LETTER.test(c)) continue;
    letters++;
    if (HAN.test(c)) han++;
    else if (KANA.test(c)) kana++;
    else
      for (const [re, iso] of SINGLE_LANGUAGE_SCRIPTS)
        if (re.test(c)) {
          single.set(iso, (single.get(iso) ?? 0) + 1);
          break;
        }
  }

  if (kana > 0 && (kana + han) / letters >= 0.5) {
    const l = toLocale('ja');
    return result(l, 'ja', 0.97 * weight * filler, 'script', 'Jpan');
  }
  if (han / letters >= 0.5) {
    const c = classifyChinese(clean);
    const l = toLocale(c.locale);
    const others = (['zh-HK', 'yue-CN', 'zh-TW', 'zh-CN'] as const).filter((x) => x !== c.locale);
    return result(l, c.locale, c.confidence * filler, 'chinese', c.script, c.confidence < 0.6 ? [...others] : []);
  }
  const [topSingle] = [...single.entries()].sort((a, b) => b[1] - a[1]);
  if (topSingle && topSingle[1] / letters >= 0.5) {
    const [iso, count] = topSingle;
    const l = toLocale(iso);
    const script = SINGLE_LANGUAGE_SCRIPTS.find(([, i]) => i === iso)?.[2];
    return result(l, iso, 0.97 * weight * filler * Math.min(1, count / letters + 0.2), 'script', script);
  }

  const { scores, reliable } = eldScores(clean);
  if (scores.length === 0) return null;
  const [[iso, s1]] = scores;
  const s2 = scores[1]?.[1] ?? 0;
  // ELD's scores are not probabilities; what tells is reliability, the margin over the runner-up
  // (small between neighbours such as ru/uk or es/pt, so it only trims) and the text's length.
  const margin = Math.min(1, Math.max(0, (s1 - s2) / 0.1));
  const confidence = weight * filler * (reliable ? 0.96 : 0.6) * (0.85 + 0.15 * margin);
  const alternatives = scores
    .slice(1)
    .filter(([, s]) => s >= s1 - 0.03)
    .map(([i]) => toLocale(i)?.code ?? i);
  let script: string | undefined;
  for (const [re, sc] of SCRIPT_OF) if (re.test(clean)) { script = sc; break; }
  return result(toLocale(iso), iso, confidence, 'eld', script, alternatives);
}

// --- STT-reported languages ---------------------------------------------------------------

// OpenAI (Whisper-family) transcription reports the language as an English name.
const STT_NAMES: Record<string, string> = {
  english: 'en', spanish: 'es', castilian: 'es', french: 'fr', german: 'de', italian: 'it', portuguese: 'pt', dutch: 'nl',
  flemish: 'nl-BE', catalan: 'ca', valencian: 'ca', basque: 'eu', swedish: 'sv', danish: 'da', norwegian: 'nb', nynorsk: 'nb',
  finnish: 'fi', icelandic: 'is', estonian: 'et', latvian: 'lv', lithuanian: 'lt', polish: 'pl', czech: 'cs', slovak: 'sk',
  slovenian: 'sl', croatian: 'hr', bosnian: 'bs', serbian: 'sr', macedonian: 'mk', bulgarian: 'bg', albanian: 'sq',
  romanian: 'ro', moldavian: 'ro', moldovan: 'ro', hungarian: 'hu', greek: 'el', russian: 'ru', ukrainian: 'uk',
  turkish: 'tr', azerbaijani: 'az', kazakh: 'kk', uzbek: 'uz', armenian: 'hy', georgian: 'ka', arabic: 'ar', hebrew: 'he',
  persian: 'fa', farsi: 'fa', urdu: 'ur', amharic: 'am', swahili: 'sw', afrikaans: 'af', welsh: 'cy', irish: 'ga',
  maltese: 'mt', hindi: 'hi', marathi: 'mr', nepali: 'ne', bengali: 'bn', gujarati: 'gu', tamil: 'ta', telugu: 'te',
  kannada: 'kn', malayalam: 'ml', sinhala: 'si', sinhalese: 'si', thai: 'th', burmese: 'my', myanmar: 'my',
  vietnamese: 'vi', indonesian: 'id', malay: 'ms', japanese: 'ja', korean: 'ko',
  chinese: 'zh', mandarin: 'zh-CN', cantonese: 'yue',
};

/**
 * Maps an STT provider's language report to a registry locale: English names from OpenAI
 * ("english", "cantonese"), ISO codes ("de", "yue") and Azure locales ("zh-HK"). For Chinese
 * the transcript, when given, picks the variety and script ("chinese" + 你哋 → zh-HK).
 * undefined when the language is not in the registry.
 */
export function fromSttLanguage(name: string | undefined | null, text?: string): string | undefined {
  if (typeof name !== 'string') return undefined;
  const key = name.trim().toLowerCase();
  if (key === '' || key === 'unknown' || key === 'und') return undefined;
  const mapped = STT_NAMES[key] ?? key;
  const l = getLocale(mapped);
  if (!l) return undefined;
  if (text && (l.language === 'cmn' || l.language === 'yue') && HAN.test(text)) {
    const c = classifyChinese(text);
    // A generic "chinese"/"zh" report: the text decides the variety. A specific one (Cantonese,
    // zh-TW, …) is kept, and the text only picks the written form within it.
    const generic = key === 'chinese' || key === 'zh';
    if (generic && c.variety !== undefined && c.confidence >= 0.6) return c.locale;
    if (key === 'cantonese' || key === 'yue') return c.script === 'Hans' ? 'yue-CN' : 'zh-HK';
  }
  return l.code;
}

// --- explicit requests ("can we speak Spanish?") -----------------------------------------

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Names callers use for a language, in several languages. Generic "Chinese" is marked: it
// means Mandarin to most, but a Cantonese caller asking for 中文 wants to stay in Cantonese.
const LANGUAGE_NAMES: Array<[string, string[]]> = [
  ['en', ['english', 'inglés', 'ingles', 'anglais', 'englisch', 'inglese', 'inglês', 'engels', 'angielsku', 'ingilizce', 'английском', 'английский', 'англійською', '英文', '英語', '英语', '영어', 'tiếng anh', 'الإنجليزية', 'الانجليزية', 'अंग्रेज़ी', 'अंग्रेजी']],
  ['es', ['spanish', 'español', 'espanol', 'castellano', 'espagnol', 'spanisch', 'spagnolo', 'espanhol', 'spaans', 'hiszpańsku', 'испанском', '西班牙文', '西班牙語', '西班牙语', 'スペイン語', '스페인어', 'tiếng tây ban nha']],
  ['fr', ['french', 'francés', 'frances', 'français', 'francais', 'französisch', 'francese', 'francês', 'frans', 'francusku', 'французском', '法文', '法語', '法语', 'フランス語', '프랑스어', 'tiếng pháp']],
  ['de', ['german', 'alemán', 'aleman', 'allemand', 'deutsch', 'tedesco', 'alemão', 'duits', 'niemiecku', 'немецком', '德文', '德語', '德语', 'ドイツ語', '독일어', 'tiếng đức']],
  ['it', ['italian', 'italiano', 'italien', 'italienisch', 'italiaans', '意大利文', '意大利語', '義大利語', '意大利语', 'イタリア語', '이탈리아어']],
  ['pt', ['portuguese', 'portugués', 'portugues', 'portugais', 'portugiesisch', 'portoghese', 'português', 'portugees', '葡萄牙文', '葡萄牙語', '葡萄牙语', 'ポルトガル語', '포르투갈어']],
  ['zh-HK', ['cantonese', 'cantonés', 'cantones', 'cantonais', 'kantonesisch', 'cantonês', 'kantonees', '廣東話', '广东话', '粵語', '粤语', '廣州話', '广州话', '白話', '白话', '広東語', '광둥어']],
  ['zh-CN', ['mandarin', 'mandarín', 'mandarino', 'mandarim', '普通話', '普通话', '北京話', '北京话']],
  ['zh-TW', ['國語', '国语']],
  ['zh', ['chinese', 'chino', 'chinois', 'chinesisch', 'cinese', 'chinês', 'chinees', '中文', '華語', '华语', '漢語', '汉语', '中国語', '중국어', 'tiếng trung', 'китайском']],
  ['ja', ['japanese', 'japonés', 'japones', 'japonais', 'japanisch', 'giapponese', 'japonês', '日文', '日語', '日语', '日本語', '일본어', 'tiếng nhật']],
  ['ko', ['korean', 'coreano', 'coréen', 'koreanisch', '韓文', '韓語', '韩语', '韓國話', '韩国话', '韓国語', '한국어', 'tiếng hàn']],
  ['vi', ['vietnamese', 'vietnamita', 'vietnamien', 'vietnamesisch', '越南話', '越南话', '越南語', '越南语', 'ベトナム語', '베트남어', 'tiếng việt']],
  ['ru', ['russian', 'ruso', 'russe', 'russisch', 'russo', '俄文', '俄語', '俄语', 'ロシア語', '러시아어', 'русском', 'русский', 'по-русски']],
  ['ar', ['arabic', 'árabe', 'arabe', 'arabisch', 'arabo', '阿拉伯文', '阿拉伯語', '阿拉伯语', 'アラビア語', '아랍어', 'العربية', 'عربي']],
  ['hi', ['hindi', 'हिंदी', 'हिन्दी']],
  ['tr', ['turkish', 'turco', 'turc', 'türkisch', 'türkçe', 'turkce']],
  ['pl', ['polish', 'polaco', 'polonais', 'polnisch', 'polacco', 'polsku']],
  ['nl', ['dutch', 'holandés', 'neerlandés', 'néerlandais', 'niederländisch', 'olandese', 'nederlands']],
  ['uk', ['ukrainian', 'ucraniano', 'ukrainien', 'ukrainisch', 'українською', 'українська']],
];

// Verbs and frames that turn a language name into a request, per language. Alphabetic words
// are matched whole (JavaScript's \b only knows ASCII, so boundaries are spelled out).
const REQUEST_WORDS = [
  'speak', 'speaks', 'speaking', 'talk', 'talking', 'switch', 'change', 'continue', 'answer', 'respond', 'reply',
  'habla', 'hablar', 'hablas', 'hablamos', 'hablen', 'hable', 'cambiar', 'parle', 'parlez', 'parler', 'parles',
  'sprechen', 'sprichst', 'spricht', 'parla', 'parlare', 'parli', 'fala', 'falar', 'falamos', 'fale', 'spreek',
  'spreekt', 'spreken', 'mówi', 'mówić', 'говорите', 'говорить', 'говоріть', 'konuşabilir', 'konuşur', 'nói',
];
// "in English", "en español", "auf Deutsch": a preposition right before the name is a request.
const REQUEST_PREPOSITION = /(?<!\p{L})(?:in|en|auf|em|op|по)\s+$/iu;
const REQUEST_CJK = ['講', '讲', '說', '说', '用', '轉', '转', '換', '换', '傾', '倾', '話せ', '話し', 'で', '로', '말'];
const NEGATION_WORDS = [
  "don't", 'dont', 'do not', "doesn't", "can't", 'cant', 'cannot', 'not', 'no hablo', 'no entiendo', 'ne parle pas',
  'je parle pas', 'spreche kein', 'spreche nicht', 'kein', 'keine', 'non parlo', 'não falo', 'nao falo', 'nie mówię',
  'не говорю', 'не розмовляю',
];
const NEGATION_CJK = ['唔識', '唔识', '唔會', '唔会', '唔明', '不會', '不会', '不懂', '聽不懂', '听不懂', '話せません', '못'];

function wordsRe(words: string[], cjk: string[]): RegExp {
  const alpha = words.map((w) => escapeRe(w).replace(/ /g, '\\s+')).join('|');
  return new RegExp(`(?<!\\p{L})(?:${alpha})(?!\\p{L})|${cjk.map(escapeRe).join('|')}`, 'iu');
}
const REQUEST_CUES = wordsRe(REQUEST_WORDS, REQUEST_CJK);
// "I don't speak X" names the language the caller cannot use: never a request for it.
const NEGATION = wordsRe(NEGATION_WORDS, NEGATION_CJK);
// A-not-A questions ("可唔可以", "會不會") contain 唔/不 without negating.
const A_NOT_A = /(\p{Script=Han})[唔不]\1/gu;

const NAME_PATTERNS: Array<[string, RegExp]> = LANGUAGE_NAMES.flatMap(([code, names]) =>
  names.map((n) => [code, HAN.test(n) || /[\p{Script=Hangul}\p{Script=Katakana}\p{Script=Hiragana}]/u.test(n) ? new RegExp(escapeRe(n), 'u') : new RegExp(`(?<![\\p{L}])${escapeRe(n)}(?![\\p{L}])`, 'iu')] as [string, RegExp]),
);

export interface LanguageRequest {
  /** Registry locale asked for. */
  locale: string;
  /** "Chinese"/中文 without saying which: the caller's current Chinese variety should stay. */
  generic: boolean;
}

/**
 * An explicit request to change language ("can we speak Spanish?", "¿hablas inglés?",
 * "可以講廣東話嗎", "说普通话"), or undefined. Mentions that are negated ("I don't speak
 * English") or far from any request verb are not requests.
 */
export function detectLanguageRequest(text: string): LanguageRequest | undefined {
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const t = text.normalize('NFC');
  // Requests are short; a long turn that mentions a language is about something else.
  if (t.length > 120) return undefined;
  // Judge clause by clause, so "Can we speak Spanish? I'm not good at English" is a request
  // for Spanish and the negated English clause is ignored.
  const clauses = t.replace(A_NOT_A, '$1').split(/[.;!?¿¡。！？；]+/u);
  for (const clause of clauses) {
    if (clause.trim() === '' || NEGATION.test(clause)) continue;
    const verb = REQUEST_CUES.test(clause);
    for (const [code, re] of NAME_PATTERNS) {
      const m = re.exec(clause);
      if (!m) continue;
      if (!verb && !REQUEST_PREPOSITION.test(clause.slice(0, m.index))) continue;
      if (code === 'zh') {
        // Generic Chinese: the request text itself shows which Chinese the caller writes.
        const c = HAN.test(clause) ? classifyChinese(clause) : undefined;
        return { locale: c && c.confidence >= 0.6 ? c.locale : 'zh-CN', generic: true };
      }
      const l = getLocale(code);
      if (l) return { locale: l.code, generic: false };
    }
  }
  return undefined;
}

/** All registry locales detection can produce from text (for documentation and tests). */
export function detectableLocales(): string[] {
  const out = new Set<string>();
  const isos = [...Object.values(eld.info().Languages), ...SINGLE_LANGUAGE_SCRIPTS.map(([, iso]) => iso), 'ja'];
  for (const iso of isos) {
    const l = iso === 'zh' ? undefined : getLocale(iso);
    if (l) out.add(l.code);
  }
  for (const c of ['zh-CN', 'zh-TW', 'zh-HK', 'yue-CN']) out.add(c);
  return [...out].sort();
}

/**
 * Runs detection over a few sentences at startup: V8 compiles the large request patterns on
 * their first runs (~50 ms each), which would otherwise land on the first callers' turns.
 */
export function warmUpDetection(): void {
  for (const s of ['What time do you open on Saturday?', 'Is there parking at the clinic?', '¿A qué hora abren el sábado?', 'Quand ouvrez-vous samedi ?', '你哋星期六幾點開門呀？', 'ok']) {
    detectLanguageRequest(s);
    detectLanguage(s);
  }
}
