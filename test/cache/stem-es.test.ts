// Spanish forms through the Snowball stemmer (issue 15): another form of a lexicon word is offered
// to the guard as that word's concept, only where one concept has the stem.
import { describe, expect, it } from 'vitest';
import { SpanishForms, spanishStem } from '../../adapters/kit/stem-es.ts';
import { analyse, coverageOf, guard } from '../../engine/cache/guard.ts';

describe('Spanish forms', () => {
  it('stems conjugations of one verb alike', () => {
    expect(spanishStem('cancela')).toBe(spanishStem('cancelar'));
    expect(spanishStem('recibiendo')).toBe(spanishStem('reciben'));
  });
  it('maps a form to the vocabulary word of its stem, never across two concepts or for short words', () => {
    const forms = new SpanishForms([['cancelar', 'cancel'], ['estacionamiento', 'park'], ['estacion', 'station'], ['ver', 'see']]);
    expect(forms.word('cancelo')).toBe('cancelar');
    expect(forms.word('estaciono')).toBeNull(); // park and station share "estacion"
    expect(forms.word('ven')).toBeNull(); // too short to say
    expect(forms.word('zapato')).toBeNull();
  });
  it('a form the lexicon does not list counts for the entry that speaks of its concept only', () => {
    const q = analyse('¿Siguen recibiendo pacientes nuevos?');
    expect([...q.heard.values()].map((h) => h.key)).toContain('k:accept');
    const entry = ['¿Aceptan pacientes nuevos?'].map(analyse);
    expect(guard(q, entry[0], coverageOf(entry)).ok).toBe(true);
  });
});
