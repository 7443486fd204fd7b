// Text and language normalisation, shared by the cache (exact tier, guard) and the hashing
// embedding: the exact tier keys on normaliseText() and the semantic tier embeds the same
// string, so both tiers see one canonical form of a question.
import { sify } from 'chinese-conv';
import { extractEntities, foldScript } from './entities.ts';
import { Misheard } from './misheard.ts';
import { memo } from './memo.ts';
import { SpanishForms } from './stem-es.ts';

export { foldScript };
import {
  CALENDAR_WORDS,
  CJK_DIGITS,
  CJK_FILLERS,
  CJK_FINAL_PARTICLES,
  CJK_FUNCTION_CHARS,
  CJK_INTENSIFIERS,
  CJK_NEGATORS,
  CJK_NON_NEGATING,
  CJK_COMPLEMENTS,
  CJK_UNITS,
  CONCEPTS,
  CONTRACTIONS,
  FILLERS,
  FILLER_PHRASES,
  FUNCTION_WORDS,
  IRREGULAR,
  LIGHT_WORDS,
  NEGATION_TRANSPARENT,
  NEGATORS,
  NUMBER_WORDS,
  type ConceptKind,
} from './lexicon.ts';

/**
 * The language partition of a BCP-47 tag. Base language, lower case ("en-US" → "en",
 * "es-ES" → "es"), except Chinese: Cantonese ("yue", "yue-HK", "zh-HK", "zh-MO", "zh-Hant-HK",
 * "zh-yue") is one partition, "yue"; every other Chinese tag ("zh", "zh-CN", "zh-TW", "cmn") is
 * Mandarin, "zh". Written Cantonese and Mandarin share a script but not their words, so an
 * answer in one must never be served in the other. Empty or unparsable tags give "und".
 */
export function partitionLanguage(tag: string): string {
  const parts = String(tag ?? '')
    .trim()
    .replace(/_/g, '-')
    .toLowerCase()
    .split('-')
    .filter(Boolean);
  const base = parts[0];
  if (!base || !/^[a-z]{2,8}$/.test(base)) return 'und';
  const rest = parts.slice(1);
  if (base === 'yue') return 'yue';
  if (base === 'zh' || base === 'cmn') {
    return rest.some((p) => p === 'hk' || p === 'mo' || p === 'yue') ? 'yue' : 'zh';
  }
  // Legacy ISO 639 codes some recognisers still emit.
  const legacy: Record<string, string> = { iw: 'he', in: 'id', ji: 'yi', nb: 'no', nn: 'no' };
  return legacy[base] ?? base;
}

const FOLDED_CJK_FILLERS = [...new Set([...CJK_FILLERS, ...CJK_FILLERS.map((f) => sify(f))])];
const FINAL_PARTICLES_RE = new RegExp(`[${CJK_FINAL_PARTICLES}${sify(CJK_FINAL_PARTICLES)}]+(?=[\\p{P}\\s]|$)`, 'gu');
// A negator that ends a clause after a verb asks, it does not refuse: "开门不？", "開咗未？", "有冇？".
const FINAL_NEGATOR_RE = /(?<=\p{Script=Han})[不唔冇沒没未無无](?=[\p{P}\s]|$)/gu;
/** After a pronoun or adverb ("我冇", "都唔") or another negator the final negator still refuses. */
const NEGATOR_STAYS_AFTER = '不唔冇沒没未無无我你佢他她它们們哋都也还還仲就并並从從';
// Tag questions: "¿abren o no?", "are you open or not?", "abren el sábado, ¿no?".
const TAG_QUESTION_RE = /(?:\b(?:o no|or not|or no)|,\s*¿?\s*no)\s*(?=[?.!]|$)/gu;
// An embedded question asks the question it embeds: "I don't know if you're open on Saturday",
// "no sé si abren", "我唔知你哋開唔開", "不知道你们开不开". Not before what the caller wants
// ("no sé si quiero cancelar" stays a doubt).
const EMBEDDED_QUESTION_RE = [
  /\b(?:i|we) (?:do not|dont) know (?:if|whether) (?=(?:you|y'all|your|the|there)\b)/g,
  /\bno s[eé] si (?!(?:quiero|necesito|puedo|debo|me|lo|la)\b)/g,
  /(?:我|我哋|我们|我們)?(?:唔知|不知道)(?=[你佢他她])/g,
];

const CJK_RE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
/** Scripts written without spaces between words: analysed per character. */
export function isCjk(ch: string): boolean {
  return CJK_RE.test(ch);
}

/**
 * Canonical form of a caller's question: NFKC, lower case, contractions expanded, punctuation
 * and symbols dropped (decimal points and apostrophes inside words kept), fillers and
 * politeness removed, single spaces, no spaces between CJK characters.
 */
export function normaliseText(text: string): string {
  let t = foldScript(String(text ?? '').normalize('NFKC').toLowerCase());
  t = t.replace(/(你|我|佢)地(?![址方点點])/g, '$1哋'); // the common informal spelling of 哋 (not 地址, 地方)
  t = t.replace(/[\u2018\u2019\u02bc`´]/g, "'");
  t = t.replace(/\b([ap])\.\s?m\.?(?=\s|$|[^\p{L}])/gu, '$1m');
  for (const [re, rep] of CONTRACTIONS) t = t.replace(re, rep);
  for (const re of EMBEDDED_QUESTION_RE) t = t.replace(re, ' ');
  t = t.replace(/(\p{L})'s\b/gu, '$1'); // possessive "clinic's" → "clinic"
  // CJK politeness and clause-final particles, before punctuation (clause ends) is lost.
  for (const f of FOLDED_CJK_FILLERS) t = t.split(f).join(' ');
  t = t.replace(FINAL_PARTICLES_RE, ' ');
  t = t.replace(FINAL_NEGATOR_RE, (neg, offset: number, str: string) => (NEGATOR_STAYS_AFTER.includes(str[offset - 1] ?? '') ? neg : ' '));
  t = t.replace(TAG_QUESTION_RE, ' ');
  t = t.replace(/(\d)[.,](\d)/g, '$1\u0000$2'); // protect 9.50 and 1,000
  t = t.replace(/[\p{P}\p{S}]/gu, ' ').replace(/\u0000/g, '.');
  let words = t.split(/\s+/).filter(Boolean);
  words = dropFillerPhrases(words).filter((w) => !FILLERS.has(w));
  let out = heard(words).join(' ');
  // No spaces between adjacent CJK characters: speech recognisers space them inconsistently.
  out = out.replace(/(\S) (?=\S)/g, (m, a: string, offset: number, s: string) => (isCjk(a) && isCjk(s[offset + 2] ?? '') ? a : m));
  // A weekday's last character misheard ("星期添", "禮拜陸"): the prefix says it is a day.
  out = out.replace(CJK_DAY_RE, (day) => MISHEARD_CJK_DAYS.cjkRun(day, (x) => CJK_DAYS.has(x), () => false));
  return out.replace(/\p{Script=Han}{2,}/gu, (run) => MISHEARD.cjkRun(run, (x) => CJK_WORDS.has(x), (c) => CJK_WORDS.has(c) || CJK_FN.has(c)));
}

/** Misheard Latin words put back to the vocabulary word they sound like; a split prefix joined ("re schedule"). */
function heard(words: string[]): string[] {
  const out: string[] = [];
  // Per word, once: whether the reader knows it (a split is looked for only where a piece is unknown).
  const unknown = words.map((w) => LATIN_RE.test(w) && !(knownLatin(w) || LATIN_WORDS.has(w) || LATIN_WORDS.has(stem(w))));
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const next = words[i + 1];
    if (w === 're' && next && knownLatin(`re${next}`)) {
      out.push(`re${next}`);
      i++;
      continue;
    }
    const joined = splitWord(words, unknown, i);
    if (joined) {
      out.push(joined.word);
      i += joined.parts - 1;
      continue;
    }
    out.push(MISHEARD_CALENDAR.latin(w) ?? w);
  }
  return out;
}

const LATIN_RE = /^\p{Script=Latin}+$/u;

/**
 * A word a recogniser split in two or three ("in surance", "can sell", "a point meant"): the
 * pieces joined, where one of them is no word the reader knows and the whole is a vocabulary
 * word or sounds like one of six letters or more, or like a calendar word ("weak days"). The
 * joined word is then read like any other (a sound-alike only offers its concept to the guard).
 */
function splitWord(words: string[], unknown: boolean[], i: number): { word: string; parts: number } | null {
  for (const parts of [3, 2]) {
    if (i + parts > words.length) continue;
    let any = false;
    let latin = true;
    for (let j = i; j < i + parts; j++) {
      any ||= unknown[j];
      latin &&= LATIN_RE.test(words[j]);
    }
    if (!any || !latin) continue;
    const word = words.slice(i, i + parts).join('');
    if (word.length < 6) continue;
    const found = joinOf(word);
    if (found) return { word: found, parts };
  }
  return null;
}

/** What joined pieces read as: a vocabulary word, a calendar word, a sound-alike of a long vocabulary word; or null (remembered per word). */
const joinOf = memo((word: string): string | null => {
  if (LATIN_WORDS.has(word) || LATIN_WORDS.has(stem(word))) return word;
  const day = CALENDAR.has(word) ? word : MISHEARD_CALENDAR.latin(word);
  if (day) return day;
  const alt = MISHEARD.latin(word);
  return alt && alt.length >= 6 ? word : null;
});

function dropFillerPhrases(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const phrase = FILLER_PHRASES.find((p) => p.every((w, j) => words[i + j] === w));
    if (phrase) {
      i += phrase.length - 1;
      continue;
    }
    out.push(words[i]);
  }
  return out;
}

/**
 * A light, language-neutral stemmer for Latin-script words: undoes regular plurals and the
 * common English suffixes (-ing, -ed, -ment, -tion) so "parking"/"park", "accepted"/"accept",
 * "payment"/"pay" meet. Anything else comes back unchanged.
 */
export function stem(word: string): string {
  const irregular = IRREGULAR[word];
  if (irregular) return irregular;
  if (!/^\p{Script=Latin}+$/u.test(word) || word.length <= 3) return word;
  let w = word;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('es') && /(ch|sh|x|z)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith('ing') && w.length >= 6) w = undouble(w.slice(0, -3));
  else if (w.endsWith('ed') && w.length >= 5) w = undouble(w.slice(0, -2));
  if (w.endsWith('ment') && w.length >= 7) w = w.slice(0, -4);
  else if (w.endsWith('tion') && w.length >= 6) w = w.slice(0, -3);
  if (w.endsWith('e') && w.length > 4) w = w.slice(0, -1);
  return w;
}

function undouble(w: string): string {
  return /([bdgmnprt])\1$/.test(w) ? w.slice(0, -1) : w;
}

/** Words of a normalised text; each run of CJK characters is one word here. */
export function words(norm: string): string[] {
  return norm.split(' ').filter(Boolean);
}

/** The dominant script of a text: 'latin', 'cjk', 'other' or 'none' (no letters). */
export function dominantScript(norm: string): 'latin' | 'cjk' | 'other' | 'none' {
  let latin = 0;
  let cjk = 0;
  let other = 0;
  for (const ch of norm) {
    if (/\p{Script=Latin}/u.test(ch)) latin++;
    else if (isCjk(ch)) cjk += 2; // one CJK character carries about a Latin word's syllable
    else if (/\p{L}/u.test(ch)) other++;
  }
  const max = Math.max(latin, cjk, other);
  if (max === 0) return 'none';
  return max === latin ? 'latin' : max === cjk ? 'cjk' : 'other';
}

// ------------------------------------------------------------------ reading a question

/** One meaningful piece of a question, in order. */
export interface TextUnit {
  /** "k:<concept>" for a lexicon concept, the stem for another word, "c:<char>" for another CJK character. */
  key: string;
  /** The concept's kind (lexicon.ts CONCEPTS), for things a question is about. */
  kind: ConceptKind | null;
  /** Grammar, not content (function words, light verbs, CJK particles). */
  fn: boolean;
  /** Under a negator's scope ("don't" → "cancel"; "唔想" → "預約"). */
  negated: boolean;
  /** As written (the word, phrase or CJK string the unit was read from). */
  surface: string;
  cjk: boolean;
  /** A word no list knows that sounds like a lexicon word ("council"): the concept it may stand for. */
  heard?: { key: string; kind: ConceptKind | null };
}

export interface QuestionReading {
  /** Calendar/time tags (entities.ts). */
  entities: string[];
  /** Quantities, as canonical numbers ("12", "0.5"); times of day add "time:am"/"time:pm" to entities. */
  numbers: string[];
  units: TextUnit[];
  /** Negators seen (after question forms such as 開唔開 and idioms such as 唔該 are set aside). */
  negations: number;
}

const fold = (w: string) => foldScript(w.toLowerCase());
const FOLDED_FUNCTION: Record<string, Set<string>> = Object.fromEntries(Object.entries(FUNCTION_WORDS).map(([l, set]) => [l, new Set([...set].map(fold))]));
/** Every listed language's function words, folded (accents off). */
export const ALL_FUNCTION_WORDS = new Set(Object.values(FOLDED_FUNCTION).flatMap((x) => [...x]));
/** A language's function words, folded. */
export function functionWords(lang: string): Set<string> | undefined {
  return FOLDED_FUNCTION[lang];
}
const FOLDED_NEGATORS = new Set([...NEGATORS].map(fold));
const FOLDED_LIGHT = new Set([...LIGHT_WORDS].map(fold));
const TRANSPARENT = new Set([...NEGATION_TRANSPARENT].map(fold));
const FOLDED_NUMBER_WORDS = new Map(Object.entries(NUMBER_WORDS).map(([w, n]) => [fold(w), n]));
const CJK_NEG = new Set([...CJK_NEGATORS, ...sify(CJK_NEGATORS)]);
const CJK_FN = new Set([...CJK_FUNCTION_CHARS].flatMap((c) => [c, sify(c)]));
/** Strings whose negator does not negate: politeness, idioms of degree ("冇問題", "頂唔順"). */
const CJK_NOT_NEGATING = [...new Set([...CJK_NON_NEGATING, ...CJK_INTENSIFIERS].map((x) => sify(x)))].sort((a, b) => b.length - a.length);

interface ConceptRef {
  id: string;
  kind: ConceptKind | null;
}
const LATIN_WORDS = new Map<string, ConceptRef>();
const LATIN_PHRASES = new Map<string, ConceptRef>();
const CJK_WORDS = new Map<string, ConceptRef>();
let CJK_MAX = 1;
for (const c of CONCEPTS) {
  const ref: ConceptRef = { id: c.id, kind: c.kind ?? null };
  for (const raw of c.words.split('|')) {
    const w = fold(raw.trim());
    if (!w) continue;
    if ([...w].some(isCjk)) {
      if (!CJK_WORDS.has(w)) CJK_WORDS.set(w, ref);
      CJK_MAX = Math.max(CJK_MAX, [...w].length);
    } else if (w.includes(' ') || w.includes('-')) {
      const key = w.replace(/-/g, ' ');
      if (!LATIN_PHRASES.has(key)) LATIN_PHRASES.set(key, ref);
    } else {
      if (!LATIN_WORDS.has(w)) LATIN_WORDS.set(w, ref);
      const st = stem(w);
      if (!LATIN_WORDS.has(st)) LATIN_WORDS.set(st, ref);
    }
  }
}
const CALENDAR = new Set(CALENDAR_WORDS);
/** A Latin word the reader knows: the lexicon's, a calendar, function, light, number or negating word. */
function knownLatin(w: string): boolean {
  const st = stem(w);
  return LATIN_WORDS.has(w) || LATIN_WORDS.has(st) || LATIN_WORDS.has(w.replace(CLITIC, '$1')) || CALENDAR.has(w) || CALENDAR.has(st) ||
    ALL_FUNCTION_WORDS.has(w) || FOLDED_LIGHT.has(w) || FOLDED_NEGATORS.has(w) || FOLDED_NUMBER_WORDS.has(w) || FILLERS.has(w);
}
/**
 * Misheard words: a calendar word is put back at once ("sundae" → "sunday"), a CJK string too
 * (预越 → 预约) when none of its characters means anything alone; another Latin word only
 * offers the concept it sounds like (TextUnit.heard), which the guard takes only where the
 * candidate entry speaks of it: "council" may be "cancel", "tarde" is not "tarda".
 */
const MISHEARD = new Misheard(
  CONCEPTS.flatMap((c) => c.words.split('|').map((x) => fold(x.trim())).filter((x) => !x.includes(' ') && !x.includes('-'))),
  CJK_WORDS.keys(),
  knownLatin,
);
const SPANISH_FORMS = new SpanishForms(
  CONCEPTS.flatMap((c) => c.words.split('|').map((x) => [fold(x.trim()), c.id] as [string, string])),
);
const MISHEARD_CALENDAR = new Misheard(CALENDAR_WORDS, [], knownLatin, { maxEdits: 2, slips: true });
const CJK_DAYS = new Set(['星期', '禮拜', '礼拜'].flatMap((p) => [...'一二三四五六日天'].map((d) => p + d)));
const CJK_DAY_RE = /(?:星期|禮拜|礼拜)\p{Script=Han}/gu;
const MISHEARD_CJK_DAYS = new Misheard([], CJK_DAYS, () => true);
const AGE_RE = new RegExp(
  `\\b(\\d+|${Object.keys(NUMBER_WORDS).join('|')}|one|uno|una|un) ?(-|\\s)?(years?|yr)(-|\\s)old\\b|\\b(\\d+|${Object.keys(NUMBER_WORDS).join('|')}|un|uno) anos\\b|[\\d${Object.keys(CJK_DIGITS).join('')}${Object.keys(CJK_UNITS).join('')}]+岁`,
  'g',
);
function ageOf(age: string): number {
  const n = age.match(/\d+/)?.[0] ?? age.split(/[\s-]/)[0];
  if (/^\d+$/.test(n)) return Number(n);
  const cjk = /\p{Script=Han}/u.test(age) ? parseCjkNumber(age.replace(/岁$/, '')) : null;
  return cjk ?? FOLDED_NUMBER_WORDS.get(n) ?? 1;
}
const NUMERAL_RUN = new RegExp(`[${Object.keys(CJK_DIGITS).join('')}${Object.keys(CJK_UNITS).join('')}]+`, 'g');
const PROHIBITIVE = '好使用必';
/** A Spanish infinitive with an object pronoun attached: "anularla" is "anular", "cambiarme" "cambiar". */
const CLITIC = /^(\p{L}{2,}(?:ar|er|ir))(?:la|lo|las|los|le|les|me|nos|se)$/u;
const A_NOT_A = new Set(['唔', '不', '没', '沒', '冇']);
/** Units a negator may reach past before its scope lapses ("I don't really want to cancel"). */
const NEGATION_REACH = 4;

/**
 * Reads a normalised question into what the cache compares: calendar entities, numbers, and
 * its units in order (lexicon concepts, other words, other CJK characters), each marked as
 * function or content and as negated or not. A CJK question form (開唔開, 有冇, 可唔可以) is a
 * question, not a negation; a negator's scope is the next content unit.
 */
export function readQuestion(norm: string): QuestionReading {
  // An age ("my four year old", "de cinco años", "四歲") says who, not how many: not a quantity
  // to compare; under 18 it is a child.
  const extracted = extractEntities(norm.replace(AGE_RE, (age) => (ageOf(age) < 18 ? (/\p{Script=Han}/u.test(age) ? ' 小孩 ' : ' child ') : ' ')));
  const entities = new Set(extracted.entities);
  const numbers = new Set<string>();
  let rest = extracted.rest;
  rest = rest.replace(/(\d+(?:\.\d+)?)\s*(am|pm)\b/g, (_m, n: string, ap: string) => {
    entities.add(`time:${ap}`);
    return ` ${n} `;
  });
  rest = rest.replace(/\d+(?:\.\d+)?/g, (n) => {
    numbers.add(String(Number(n)));
    return ' ';
  });
  rest = rest.replace(NUMERAL_RUN, (run) => {
    if (run === '一') return run; // "one" on its own is an article/measure word, not a quantity
    const v = parseCjkNumber(run);
    numbers.add(v === null ? run : String(v));
    return ' ';
  });
  const units: TextUnit[] = [];
  let negations = 0;
  let pending = -1; // index in units where the last negator stood, or -1
  const push = (u: Omit<TextUnit, 'negated'>) => {
    // A negator reaches past auxiliaries and pronouns to the next word, content or not ("can't come").
    const negated = pending >= 0 && !(u.fn && TRANSPARENT.has(u.surface));
    units.push(negated ? { ...u, fn: false, negated } : { ...u, negated });
    if (negated) pending = -1;
    else if (pending >= 0 && units.length - pending > NEGATION_REACH) pending = -1;
  };
  const negate = (previous = false) => {
    negations++;
    const last = units[units.length - 1];
    if (previous && last) units[units.length - 1] = { ...last, fn: false, negated: true };
    else pending = units.length;
  };
  const toks = words(rest.trim().replace(/\s+/g, ' ')).flatMap(scriptRuns);
  // An English word in a Chinese sentence ("幫我cancel個預約") is read only for what the lexicon
  // says it is (an action, a service…): the sentence's own phrasings say the rest in Chinese,
  // so an untyped borrowed word would look like a new topic where it is a synonym.
  const borrowing = dominantScript(norm) === 'cjk';
  for (let i = 0; i < toks.length; i++) {
    const tok = toks[i];
    if (isCjk(tok[0])) {
      readCjkRun(tok, push, negate);
      continue;
    }
    const phrase = [3, 2].map((n) => toks.slice(i, i + n)).find((p) => p.length > 1 && LATIN_PHRASES.has(p.join(' ')));
    if (phrase) {
      const ref = LATIN_PHRASES.get(phrase.join(' '))!;
      push({ key: `k:${ref.id}`, kind: ref.kind, fn: borrowing && !ref.kind, surface: phrase.join(' '), cjk: false });
      i += phrase.length - 1;
      continue;
    }
    if (FOLDED_NEGATORS.has(tok)) {
      negate();
      continue;
    }
    const n = FOLDED_NUMBER_WORDS.get(tok);
    if (n !== undefined) {
      numbers.add(String(n));
      continue;
    }
    const st = stem(tok);
    const ref = LATIN_WORDS.get(tok) ?? LATIN_WORDS.get(st) ?? LATIN_WORDS.get(tok.replace(CLITIC, '$1'));
    if (ref) push({ key: `k:${ref.id}`, kind: ref.kind, fn: borrowing && !ref.kind, surface: tok, cjk: false });
    else {
      const fn = borrowing || tok.length < 2 || ALL_FUNCTION_WORDS.has(tok) || FOLDED_LIGHT.has(tok);
      const alt = fn ? null : (MISHEARD.latin(tok) ?? SPANISH_FORMS.word(tok));
      const heard = alt ? (LATIN_WORDS.get(alt) ?? LATIN_WORDS.get(stem(alt))) : undefined;
      push({ key: st, kind: null, fn, surface: tok, cjk: false, ...(heard ? { heard: { key: `k:${heard.id}`, kind: heard.kind } } : {}) });
    }
  }
  return { entities: [...entities].sort(), numbers: [...numbers].sort(), units, negations };
}

/**
 * A token split where the script changes: speech recognisers write an English word inside a
 * Cantonese sentence with no space ("幫我cancel個預約"), and that word must be read as a word, not
 * dropped with the CJK run's non-CJK characters.
 */
function scriptRuns(tok: string): string[] {
  const runs: string[] = [];
  let run = '';
  let cjk = false;
  for (const ch of tok) {
    const c = isCjk(ch);
    if (run && c !== cjk) {
      runs.push(run);
      run = '';
    }
    run += ch;
    cjk = c;
  }
  if (run) runs.push(run);
  return runs;
}

function readCjkRun(run: string, push: (u: Omit<TextUnit, 'negated'>) => void, negate: (previous?: boolean) => void): void {
  const cs = [...run];
  for (let i = 0; i < cs.length; ) {
    // A-not-A question forms: 開唔開, 可唔可以, 用唔用得, 有冇, 有没有, 是不是: read from the second A.
    if (A_NOT_A.has(cs[i + 1]) && cs[i + 2] === cs[i] && isCjk(cs[i])) {
      i += 2;
      continue;
    }
    if (cs[i] === '有' && (cs[i + 1] === '冇' || cs[i + 1] === '无')) {
      i += 2;
      continue;
    }
    const here = cs.slice(i).join('');
    const idiom = CJK_NOT_NEGATING.find((x) => here.startsWith(x));
    if (idiom) {
      // Politeness or degree: no negation, and nothing the question is about (唔該, 冇問題, 頂唔順).
      // 別的/別人 ("other") are not negations but do say something: another clinic is not this one.
      push({ key: `c:${idiom}`, kind: null, fn: !/^[別别]/.test(idiom), surface: idiom, cjk: true });
      i += [...idiom].length;
      continue;
    }
    let matched = 0;
    for (let n = Math.min(CJK_MAX, cs.length - i); n >= 1; n--) {
      const ref = CJK_WORDS.get(cs.slice(i, i + n).join(''));
      if (!ref) continue;
      push({ key: `k:${ref.id}`, kind: ref.kind, fn: false, surface: cs.slice(i, i + n).join(''), cjk: true });
      matched = n;
      break;
    }
    if (matched) {
      i += matched;
      continue;
    }
    const ch = cs[i];
    if (CJK_NEG.has(ch)) {
      // "去不了", "嚟唔到": the negator negates the verb before it.
      const complement = i > 0 && CJK_COMPLEMENTS.includes(cs[i + 1] ?? '');
      negate(complement);
      // "唔好", "唔使", "不用", "不必": one prohibitive negator, its scope what follows.
      if (complement || PROHIBITIVE.includes(cs[i + 1] ?? '')) i++;
    } else if (isCjk(ch)) push({ key: `c:${ch}`, kind: null, fn: CJK_FN.has(ch) || ch === '一', surface: ch, cjk: true });
    i++;
  }
}

/** "十二" → 12, "二百五十" → 250, "九十五" → 95; null if the run is not a well-formed number. */
export function parseCjkNumber(run: string): number | null {
  let total = 0;
  let section = 0;
  let digit: number | null = null;
  for (const ch of run) {
    const d = CJK_DIGITS[ch];
    const u = CJK_UNITS[ch];
    if (d !== undefined) {
      if (digit !== null) return null; // two digits in a row: not a number word
      digit = d;
    } else if (u !== undefined) {
      if (u === 10000) {
        section = (section + (digit ?? 0)) * u;
        total += section;
        section = 0;
      } else {
        section += (digit ?? 1) * u;
      }
      digit = null;
    } else return null;
  }
  return total + section + (digit ?? 0);
}
