// Calendar and time entities, shared by the cache's guard and the hashing embedding so both
// read "monday to friday" and "weekdays" as the same fact.
import { sify } from 'chinese-conv';
import { ENTITY_PATTERNS } from './lexicon.ts';

/**
 * One spelling per word whatever the keyboard or recogniser: Latin letters lose their accents
 * ("dirección" = "direccion": callers' and recognisers' accents vary), Chinese characters are
 * folded to Simplified (a Cantonese recogniser may write 诊所 for 診所). Partitions keep Cantonese
 * and Mandarin apart, so folding their scripts together serves neither's answer to the other.
 */
export function foldScript(t: string): string {
  const nfd = t.normalize('NFD');
  let out = nfd.length !== t.length || /\p{M}/u.test(nfd) ? nfd.replace(/(\p{Script=Latin})\p{M}+/gu, '$1').normalize('NFC') : t;
  if (/\p{Script=Han}/u.test(out)) out = sify(out);
  return out;
}

/** The patterns as they meet folded text (accents off, Simplified Chinese). */
const PATTERNS: Array<[RegExp, string]> = ENTITY_PATTERNS.map(([re, tag]) => [new RegExp(foldScript(re.source), re.flags), tag]);

/**
 * Calendar/time entities of a normalised text as canonical tags ("monday to friday" and
 * "weekdays" both give "day:weekdays"), and the text with them blanked out.
 */
export function extractEntities(norm: string): { entities: string[]; rest: string } {
  const entities = new Set<string>();
  let rest = ` ${norm} `;
  for (const [re, tag] of PATTERNS) {
    rest = rest.replace(re, (...m: string[]) => {
      entities.add(tag.includes('$1') ? tag.replace('$1', m[1] ?? '') : tag);
      return ' ';
    });
  }
  return { entities: [...entities], rest };
}
