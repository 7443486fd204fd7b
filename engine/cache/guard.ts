// The near-miss guard. Embeddings put "I don't want to cancel" next to "I want to cancel" and
// "Saturday" next to "Sunday"; serving the neighbour's answer would be wrong, and a wrong cached
// answer is worse than a miss. So a semantic candidate must also agree with the query on
// general, checkable facts: script and language, negation polarity, numbers, calendar/time
// entities, and it must not be the same question with one content word swapped for another.
import {
  CJK_DIGITS,
  CJK_FUNCTION_CHARS,
  CJK_NEGATORS,
  CJK_NON_NEGATING,
  CJK_UNITS,
  FUNCTION_WORDS,
  NEGATORS,
  NUMBER_WORDS,
} from '../../adapters/kit/lexicon.ts';
import { dominantScript, isCjk, normaliseText, stem, words } from '../../adapters/kit/normalise.ts';
import { extractEntities } from '../../adapters/kit/entities.ts';

export interface TextFeatures {
  norm: string;
  script: 'latin' | 'cjk' | 'other' | 'none';
  /** Latin-script language guessed from function words, or null when unsure. */
  lang: string | null;
  negations: number;
  numbers: string[];
  entities: string[];
  /** Stems of content words; single characters for CJK text. */
  content: Set<string>;
}

export type GuardReason = 'script' | 'language' | 'negation' | 'number' | 'entity' | 'content-swap';

export interface GuardVerdict {
  ok: boolean;
  reason?: GuardReason;
  /** True when query and entry share at least one content word (a lexical anchor). */
  anchored: boolean;
}

const ALL_FUNCTION_WORDS = new Set(Object.values(FUNCTION_WORDS).flatMap((s) => [...s]));
const CJK_NUMERAL_RUN = new RegExp(`[${Object.keys(CJK_DIGITS).join('')}${Object.keys(CJK_UNITS).join('')}]+`, 'g');

/** Reads the features the guard compares. `text` may be raw or already normalised. */
export function analyse(text: string): TextFeatures {
  const norm = normaliseText(text);
  const toks = words(norm);
  const lang = guessLatinLanguage(toks);
  const fnWords = lang ? FUNCTION_WORDS[lang] : ALL_FUNCTION_WORDS;

  let negations = 0;
  for (const t of toks) if (NEGATORS.has(t)) negations++;
  let cjkText = norm;
  for (const c of CJK_NON_NEGATING) cjkText = cjkText.split(c).join(' ');
  for (const ch of cjkText) if (CJK_NEGATORS.includes(ch)) negations++;

  // Entities first (they consume "星期一", "monday to friday"), then numbers, then content.
  const extracted = extractEntities(norm);
  const entities = new Set(extracted.entities);
  let rest = extracted.rest;
  const numbers = new Set<string>();
  rest = rest.replace(/(\d+(?:\.\d+)?)\s*(am|pm)\b/g, (_m, n: string, ap: string) => {
    entities.add(`time:${ap}`);
    return ` ${n} `;
  });
  rest = rest.replace(/\d+(?:\.\d+)?/g, (n) => {
    numbers.add(String(Number(n)));
    return ' ';
  });
  rest = rest.replace(CJK_NUMERAL_RUN, (run) => {
    if (run === '一') return ' '; // "one" on its own is an article/measure, not a quantity
    const v = parseCjkNumber(run);
    numbers.add(v === null ? run : String(v));
    return ' ';
  });

  const content = new Set<string>();
  for (const tok of words(rest.trim().replace(/\s+/g, ' '))) {
    if (NUMBER_WORDS[tok] !== undefined) {
      numbers.add(String(NUMBER_WORDS[tok]));
      continue;
    }
    if (NEGATORS.has(tok)) continue;
    if ([...tok].some(isCjk)) {
      for (const ch of tok) {
        if (isCjk(ch) && !CJK_FUNCTION_CHARS.has(ch) && !CJK_NEGATORS.includes(ch)) content.add(ch);
      }
      continue;
    }
    if (tok.length < 2 || fnWords.has(tok) || ALL_FUNCTION_WORDS.has(tok)) continue;
    content.add(stem(tok));
  }
  return { norm, script: dominantScript(norm), lang, negations, numbers: [...numbers].sort(), entities: [...entities].sort(), content };
}

/**
 * Whether a semantic candidate (the stored question's features) may answer the query.
 * The content-swap rule: if both texts share a content word but each also has a content word
 * the other lacks ("cancel my insurance" vs "cancel my appointment", "parking at the hospital"
 * vs "parking at the clinic"), they are two questions about two things, not one question.
 */
export function guard(query: TextFeatures, entry: TextFeatures): GuardVerdict {
  const shared = [...query.content].filter((w) => hasWord(entry.content, w));
  const anchored = shared.length > 0;
  const reject = (reason: GuardReason): GuardVerdict => ({ ok: false, reason, anchored });
  if (query.script !== 'none' && entry.script !== 'none' && query.script !== entry.script) return reject('script');
  if (query.lang && entry.lang && query.lang !== entry.lang) return reject('language');
  if (query.negations % 2 !== entry.negations % 2) return reject('negation');
  if (!sameList(query.numbers, entry.numbers)) return reject('number');
  if (!sameList(query.entities, entry.entities)) return reject('entity');
  const novel = [...query.content].filter((w) => !hasWord(entry.content, w));
  const missing = [...entry.content].filter((w) => !hasWord(query.content, w));
  if (anchored && novel.length > 0 && missing.length > 0) return reject('content-swap');
  return { ok: true, anchored };
}

/** Equal words, or one a prefix (≥ 4 letters) of the other: "whiten"/"whitening" after stemming. */
function hasWord(set: Set<string>, w: string): boolean {
  if (set.has(w)) return true;
  if (w.length < 4) return false;
  for (const x of set) if (x.length >= 4 && (x.startsWith(w) || w.startsWith(x))) return true;
  return false;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Guesses the language of Latin-script text from its function words; null when unsure. */
export function guessLatinLanguage(toks: string[]): string | null {
  const scores: Array<[string, number]> = Object.entries(FUNCTION_WORDS).map(([lang, set]) => [lang, toks.filter((t) => set.has(t)).length]);
  scores.sort((a, b) => b[1] - a[1]);
  const [best, second] = scores;
  if (!best || best[1] < 2 || (second && best[1] - second[1] < 2)) return null;
  return best[0];
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
