// Words a speech recogniser misheard, put back to the vocabulary word they sound like: "council"
// → "cancel", "sundae" → "sunday", "sita" → "cita", "urjencia" → "urgencia", 预越 → 预约,
// 取銷 → 取消, 人公 → 人工. Only words the vocabulary does not know are changed, only towards a
// vocabulary word (the lexicon's and the calendar's), and only on a match of sound that short
// words cannot make by chance: a misheard word then reads as the word it stands for, and
// the guard and the embedding see the caller's question instead of a stray word.
import { doubleMetaphone } from 'double-metaphone';
import { distance as edits } from 'fastest-levenshtein';
import { pinyin } from 'pinyin-pro';
import ToJyutping from 'to-jyutping';

/** Letters fewer than this are left alone: short words collide by sound too easily. */
const MIN_LATIN = 4;
/** A sound key shorter than this (two consonants: "back"/"book") says too little. */
const MIN_METAPHONE = 3;
/** Edits allowed between the heard word and its vocabulary word, by which sound matched. */
const MAX_EDITS_ENGLISH = 3;
const MAX_EDITS_SPANISH = 2;
/** A spelling slip is looked for in words of at least this many letters. */
const SLIP_MIN = 5;

/**
 * Spanish spelling by sound: h is silent, b/v, s/z/soft c, y/ll, j/soft g, k/qu/hard c are one
 * sound each (seseo, as in Latin America), and doubled letters are one.
 */
export function spanishSound(w: string): string {
  return w
    .replace(/h/g, '')
    .replace(/qu(?=[ei])/g, 'k')
    .replace(/c(?=[ei])/g, 's')
    .replace(/g(?=[ei])/g, 'j')
    .replace(/gu(?=[ei])/g, 'g')
    .replace(/c/g, 'k')
    .replace(/z/g, 's')
    .replace(/v/g, 'b')
    .replace(/ll/g, 'y')
    .replace(/x/g, 'ks')
    .replace(/(.)\1+/g, '$1');
}

export class Misheard {
  private readonly english = new Map<string, string[]>();
  /** Vocabulary words by first letter, for a spelling slip that changes the sound key. */
  private readonly byInitial = new Map<string, string[]>();
  private readonly spanish = new Map<string, string[]>();
  private readonly cjk = new Map<string, string>();
  private readonly cjkLengths: number[];
  private readonly readings = new Map<string, string>();
  private readonly maxEdits: number;
  private readonly slips: boolean;

  /**
   * `latin`: vocabulary words (one word each); `cjk`: vocabulary strings of two or more CJK
   * characters; `known(word)`: whether a Latin word is a word the reader already knows (then
   * it is never changed).
   */
  constructor(
    latin: Iterable<string>,
    cjk: Iterable<string>,
    private readonly known: (w: string) => boolean,
    opts: { maxEdits?: number; slips?: boolean } = {},
  ) {
    this.maxEdits = opts.maxEdits ?? Infinity;
    this.slips = opts.slips ?? false;
    const add = (m: Map<string, string[]>, k: string, w: string) => {
      const list = m.get(k) ?? [];
      if (!list.includes(w)) list.push(w);
      m.set(k, list);
    };
    for (const w of latin) {
      if (w.length < MIN_LATIN || !/^\p{Script=Latin}+$/u.test(w)) continue;
      const [m] = doubleMetaphone(w);
      if (m.length >= MIN_METAPHONE) add(this.english, m, w);
      add(this.spanish, spanishSound(w), w);
      add(this.byInitial, w[0], w);
    }
    const lengths = new Set<number>();
    for (const w of cjk) {
      const n = [...w].length;
      if (n < 2) continue;
      for (const k of this.cjkKeys(w)) if (!this.cjk.has(k)) this.cjk.set(k, w);
      lengths.add(n);
    }
    this.cjkLengths = [...lengths].sort((a, b) => b - a);
  }

  /** The vocabulary word a Latin word was misheard for, or null. */
  latin(w: string): string | null {
    if (w.length < MIN_LATIN || this.known(w) || !/^\p{Script=Latin}+$/u.test(w)) return null;
    const [m] = doubleMetaphone(w);
    const byEnglish = m.length >= MIN_METAPHONE ? (this.english.get(m) ?? []) : [];
    const bySpanish = this.spanish.get(spanishSound(w)) ?? [];
    let best: string | null = null;
    let bestEdits = Infinity;
    for (const [list, max] of [[byEnglish, MAX_EDITS_ENGLISH], [bySpanish, MAX_EDITS_SPANISH]] as const) {
      for (const c of list) {
        const d = edits(w, c);
        if (d <= Math.min(max, this.maxEdits) && d < bestEdits) [best, bestEdits] = [c, d];
      }
    }
    return best ?? (this.slips ? this.slip(w) : null);
  }

  /**
   * A word one letter off a vocabulary word (two when both have seven letters or more), with the
   * same first letter, where exactly one vocabulary word is that near: "wensday" → "wednesday",
   * "biernes" → "viernes" by sound, "wenesday" by spelling. A spelling slip that the sound keys
   * miss; only for a closed vocabulary (`slips`: the calendar's), where a word that near is no
   * other word: among open vocabularies a real word is ("chance" is not "change").
   */
  private slip(w: string): string | null {
    if (w.length < SLIP_MIN) return null;
    let best: string | null = null;
    let bestEdits = Infinity;
    let tie = false;
    for (const c of this.byInitial.get(w[0]) ?? []) {
      if (c.length < SLIP_MIN || Math.abs(c.length - w.length) > 2) continue;
      const max = Math.min(w.length >= 7 && c.length >= 7 ? 2 : 1, this.maxEdits);
      const d = edits(w, c);
      if (d > max || d > bestEdits) continue;
      tie = d === bestEdits && c !== best;
      [best, bestEdits] = [c, d];
    }
    return tie ? null : best;
  }

  /**
   * A CJK run with each stretch that is not a vocabulary string but sounds like one (Mandarin
   * or Cantonese, tones aside) replaced by it. `isWord(s)` tells a vocabulary string; a stretch
   * holding a character that `meansAlone(c)` (a word or a particle of its own) is left as it is:
   * 只牙 ("my tooth") is not 植牙, whatever it sounds like.
   */
  cjkRun(run: string, isWord: (s: string) => boolean, meansAlone: (c: string) => boolean): string {
    const cs = [...run];
    let out = '';
    for (let i = 0; i < cs.length; ) {
      let step = 1;
      let text = cs[i];
      for (const n of this.cjkLengths) {
        if (i + n > cs.length) continue;
        const piece = cs.slice(i, i + n).join('');
        if (isWord(piece)) {
          [step, text] = [n, piece];
          break;
        }
        if (cs.slice(i, i + n).some(meansAlone)) continue;
        const hit = this.cjkKeys(piece).map((k) => this.cjk.get(k)).find((x) => x !== undefined);
        if (hit) {
          [step, text] = [n, hit];
          break;
        }
      }
      out += text;
      i += step;
    }
    return out;
  }

  /** Toneless Mandarin and Cantonese readings of a CJK string, one syllable per character. */
  private cjkKeys(s: string): string[] {
    const chars = [...s];
    if (!chars.every((c) => /\p{Script=Han}/u.test(c))) return [];
    const mandarin = chars.map((c) => this.reading(c, 'm')).join(' ');
    const cantonese = chars.map((c) => this.reading(c, 'c')).join(' ');
    return [`m:${mandarin}`, `c:${cantonese}`];
  }

  private reading(c: string, lang: 'm' | 'c'): string {
    const key = lang + c;
    let r = this.readings.get(key);
    if (r === undefined) {
      r = lang === 'm' ? pinyin(c, { toneType: 'none' }) : (ToJyutping.getJyutpingList(c)[0]?.[1] ?? '').replace(/\d/g, '');
      this.readings.set(key, r || c);
    }
    return r || c;
  }
}
