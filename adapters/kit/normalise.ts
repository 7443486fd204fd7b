// Text and language normalisation, shared by the cache (exact tier, guard) and the hashing
// embedding: the exact tier keys on normaliseText() and the semantic tier embeds the same
// string, so both tiers see one canonical form of a question.
import { CJK_FILLERS, CJK_FINAL_PARTICLES, CONTRACTIONS, FILLERS, FILLER_PHRASES, IRREGULAR } from './lexicon.ts';

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
  let t = String(text ?? '').normalize('NFKC').toLowerCase();
  t = t.replace(/[\u2018\u2019\u02bc`´]/g, "'");
  t = t.replace(/\b([ap])\.\s?m\.?(?=\s|$|[^\p{L}])/gu, '$1m');
  for (const [re, rep] of CONTRACTIONS) t = t.replace(re, rep);
  t = t.replace(/(\p{L})'s\b/gu, '$1'); // possessive "clinic's" → "clinic"
  // CJK politeness and clause-final particles, before punctuation (clause ends) is lost.
  for (const f of CJK_FILLERS) t = t.split(f).join(' ');
  t = t.replace(new RegExp(`[${CJK_FINAL_PARTICLES}]+(?=[\\p{P}\\s]|$)`, 'gu'), ' ');
  t = t.replace(/(\d)[.,](\d)/g, '$1\u0000$2'); // protect 9.50 and 1,000
  t = t.replace(/[\p{P}\p{S}]/gu, ' ').replace(/\u0000/g, '.');
  let words = t.split(/\s+/).filter(Boolean);
  words = dropFillerPhrases(words).filter((w) => !FILLERS.has(w));
  let out = words.join(' ');
  // No spaces between adjacent CJK characters: speech recognisers space them inconsistently.
  out = out.replace(/(\S) (?=\S)/g, (m, a: string, offset: number, s: string) => (isCjk(a) && isCjk(s[offset + 2] ?? '') ? a : m));
  return out;
}

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
