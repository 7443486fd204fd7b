// Turns a stream of LLM text deltas into speakable pieces for TTS. TTS wants whole sentences
// (prosody), but waiting for a long sentence delays the first audio, so the first piece of an
// answer may end at a clause boundary (comma) once it is long enough.
//
// Contract: every character pushed comes out exactly once, in order. Each emitted piece is
// trimmed, so whitespace at piece boundaries is dropped and whitespace-only pieces are not
// emitted: outputs.join(' ') equals the input up to whitespace at the boundaries.
//
// A '.', '!' or '?' only ends a sentence when whitespace and then more text follow (or at
// flush), so "3.5", "e.g." inside a word, "Dr. Lee", initials ("J. Smith") and "8 a.m. to
// 6 p.m." stay whole; a '.' followed by a lower-case word is not an end either. CJK full stops
// (。！？) end a sentence at once, newlines too.

export interface SentenceChunkerOptions {
  /** The first piece may end at a comma once it has this many characters (default 24; 0 disables). */
  firstClauseMinChars?: number;
  /** A piece with no boundary is cut at the last space (or here, for CJK) past this length (default 240). */
  maxChars?: number;
}

const CJK_ENDS = new Set(['。', '！', '？', '…']);
const LATIN_ENDS = new Set(['.', '!', '?']);
const CLAUSE = new Set([',', ';', ':']);
const CJK_CLAUSE = new Set(['，', '、', '；', '：']);
const CLOSERS = new Set(['"', "'", ')', ']', '}', '”', '’', '」', '』', '）', '》', '】']);
/** Abbreviations after which a '.' never ends a sentence (compared lower-case, without dots). */
const TITLES = new Set(['dr', 'mr', 'mrs', 'ms', 'prof', 'st', 'sr', 'jr', 'mt', 'vs', 'eg', 'ie', 'approx', 'tel', 'ext', 'dept', 'sra', 'srta', 'dra']);
/** Abbreviations that end a sentence only when a capitalised word follows. */
const SOFT = new Set(['am', 'pm', 'etc', 'inc', 'ltd', 'co']);

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
const isLower = (c: string | undefined) => c !== undefined && c !== c.toUpperCase();
const isCjk = (c: string) => /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/.test(c);

export class SentenceChunker {
  private buf = '';
  private emitted = 0;
  private readonly firstClauseMinChars: number;
  private readonly maxChars: number;

  constructor(options: SentenceChunkerOptions = {}) {
    this.firstClauseMinChars = Math.max(0, options.firstClauseMinChars ?? 24);
    this.maxChars = Math.max(16, options.maxChars ?? 240);
  }

  /** Adds a delta; returns the pieces that are now complete (often none). */
  push(delta: string): string[] {
    if (typeof delta !== 'string') throw new TypeError(`SentenceChunker.push: expected a string, got ${typeof delta}`);
    this.buf += delta;
    return this.drain(false);
  }

  /** Ends the stream: returns everything left, and resets the chunker for the next answer. */
  flush(): string[] {
    const out = this.drain(true);
    const rest = this.buf.trim();
    if (rest) out.push(rest);
    this.buf = '';
    this.emitted = 0;
    return out;
  }

  /** Text pushed but not yet emitted. */
  get pending(): string {
    return this.buf;
  }

  private drain(final: boolean): string[] {
    const out: string[] = [];
    for (;;) {
      const end = this.boundary(final);
      if (end <= 0) break;
      const piece = this.buf.slice(0, end).trim();
      this.buf = this.buf.slice(end);
      if (piece) {
        out.push(piece);
        this.emitted++;
      }
    }
    return out;
  }

  /** End index (exclusive) of the next complete piece, or -1 if none is decidable yet. */
  private boundary(final: boolean): number {
    const b = this.buf;
    const n = b.length;
    for (let i = 0; i < n; i++) {
      const c = b[i];
      if (c === '\n') return i + 1;
      if (CJK_ENDS.has(c)) return this.skipClosers(i + 1, true);
      if (CJK_CLAUSE.has(c) && this.wantsClause(i)) return i + 1;
      if (LATIN_ENDS.has(c)) {
        const j = this.skipClosers(i + 1, false);
        if (j === n) return final ? j : -1; // "3." may become "3.5": wait for more
        if (!isSpace(b[j])) {
          i = j - 1;
          continue;
        }
        let k = j;
        while (k < n && isSpace(b[k])) k++;
        if (k === n && !final) return -1; // the next word decides (lower-case, abbreviation)
        if (c === '.' ? this.endsSentence(i, b[k]) : !isLower(b[k])) return j; // '"Really?" she asked' is one

        i = j - 1;
        continue;
      }
      if (CLAUSE.has(c) && this.wantsClause(i)) {
        if (i + 1 === n) return final ? i + 1 : -1;
        if (isSpace(b[i + 1])) return i + 1; // "1,000" is not a clause boundary
      }
    }
    if (n > this.maxChars) {
      const cut = b.lastIndexOf(' ', this.maxChars);
      if (cut > 0) return cut + 1;
      return this.maxChars; // no spaces (CJK): cut by length
    }
    return -1;
  }

  private wantsClause(i: number): boolean {
    return this.emitted === 0 && this.firstClauseMinChars > 0 && this.buf.slice(0, i + 1).trim().length >= this.firstClauseMinChars;
  }

  private skipClosers(j: number, cjk: boolean): number {
    const b = this.buf;
    while (j < b.length && (CLOSERS.has(b[j]) || LATIN_ENDS.has(b[j]) || (cjk && CJK_ENDS.has(b[j])))) j++;
    return j;
  }

  /** Whether the '.' at i ends a sentence, given the first character of the next word. */
  private endsSentence(i: number, next: string | undefined): boolean {
    const b = this.buf;
    let s = i;
    while (s > 0 && /[\p{L}.]/u.test(b[s - 1])) s--;
    const word = b.slice(s, i).replace(/\./g, '').toLowerCase();
    if (next === undefined) return true; // end of stream
    const upper = next !== next.toLowerCase();
    if (TITLES.has(word)) return false;
    if (word.length === 1 && /\p{Lu}/u.test(b[i - 1])) return false; // an initial: "J. Smith"
    if (SOFT.has(word)) return upper || isCjk(next);
    return !isLower(next); // "and so on. and then" is one sentence to a TTS anyway
  }
}
