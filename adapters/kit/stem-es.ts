// Spanish inflection, through the Snowball Spanish stemmer (`snowball-stemmers`, ISC, pure JS):
// "cancela", "cancelo" and "cancelar" share the stem "cancel", "recibiendo" and "reciben" share
// "recib". The lexicon lists the forms its author thought of; a caller's other form of the same
// verb or noun is read as the lexicon word with that stem (one concept only: a stem two
// concepts share says nothing), and only offered to the guard like a misheard word.
import { createRequire } from 'node:module';
import { memo } from './memo.ts';

interface SnowballStemmer {
  stem(word: string): string;
}
const snowball = createRequire(import.meta.url)('snowball-stemmers') as { newStemmer(language: string): SnowballStemmer };
const SPANISH = snowball.newStemmer('spanish');

/** The Snowball stem of a (lower-case, accent-folded) Spanish word. */
export function spanishStem(word: string): string {
  return SPANISH.stem(word);
}

/** Maps a word to the vocabulary word with its Spanish stem, where exactly one concept has that stem. */
export class SpanishForms {
  private readonly byStem = new Map<string, { word: string; concept: string } | null>();
  /** The vocabulary word of the same stem, or null (none, or two concepts share it); remembered per word. */
  private readonly lookup = memo((w: string) => this.byStem.get(spanishStem(w))?.word ?? null);

  /** `vocabulary`: [word, concept id] pairs (Latin-script words, accent-folded). */
  constructor(vocabulary: Iterable<[string, string]>, private readonly minLength = 4) {
    for (const [word, concept] of vocabulary) {
      if (word.length < this.minLength || !/^\p{Script=Latin}+$/u.test(word)) continue;
      const s = spanishStem(word);
      const had = this.byStem.get(s);
      if (had === undefined) this.byStem.set(s, { word, concept });
      else if (had && had.concept !== concept) this.byStem.set(s, null);
    }
  }

  word(w: string): string | null {
    return w.length < this.minLength ? null : this.lookup(w);
  }
}
