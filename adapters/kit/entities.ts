// Calendar and time entities, shared by the cache's guard and the hashing embedding so both
// read "monday to friday" and "weekdays" as the same fact.
import { ENTITY_PATTERNS } from './lexicon.ts';

/**
 * Calendar/time entities of a normalised text as canonical tags ("monday to friday" and
 * "weekdays" both give "day:weekdays"), and the text with them blanked out.
 */
export function extractEntities(norm: string): { entities: string[]; rest: string } {
  const entities = new Set<string>();
  let rest = ` ${norm} `;
  for (const [re, tag] of ENTITY_PATTERNS) {
    rest = rest.replace(re, (...m: string[]) => {
      entities.add(tag.includes('$1') ? tag.replace('$1', m[1] ?? '') : tag);
      return ' ';
    });
  }
  return { entities: [...entities], rest };
}
