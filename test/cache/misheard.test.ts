// Misheard words (issue 15): a recogniser's homophone is read as the word it stands for only
// where that cannot make a wrong answer: calendar words and CJK strings whose characters mean
// nothing alone are put back at once; another Latin word only offers its concept to the guard.
import { describe, expect, it } from 'vitest';
import { normaliseText } from '../../adapters/kit/normalise.ts';
import { Misheard, spanishSound } from '../../adapters/kit/misheard.ts';
import { analyse, coverageOf, guard } from '../../engine/cache/guard.ts';

const reasonInEntry = (query: string, phrases: string[]) => guard(analyse(query), analyse(phrases[0]), coverageOf(phrases.map(analyse))).reason ?? 'ok';

describe('misheard words', () => {
  it('spells Spanish by sound', () => {
    expect(spanishSound('sita')).toBe(spanishSound('cita'));
    expect(spanishSound('ablar')).toBe(spanishSound('hablar'));
    expect(spanishSound('urjencia')).toBe(spanishSound('urgencia'));
    expect(spanishSound('limpiesa')).toBe(spanishSound('limpieza'));
    expect(spanishSound('avren')).toBe(spanishSound('abren'));
  });

  it('finds the vocabulary word a Latin word sounds like, never for a known or short word', () => {
    const m = new Misheard(['cancel', 'emergency', 'cita', 'book'], [], (w) => w === 'council2');
    expect(m.latin('council')).toBe('cancel');
    expect(m.latin('emergence')).toBe('emergency');
    expect(m.latin('sita')).toBe('cita');
    expect(m.latin('back')).toBeNull(); // two consonants of sound: too short to tell
    expect(m.latin('council2')).toBeNull();
  });

  it('puts calendar words and meaningless CJK homophones back in the normalised text', () => {
    expect(normaliseText('are you open on sundae')).toBe('are you open on sunday');
    expect(normaliseText('我想预越看牙')).toBe('我想预约看牙');
    expect(normaliseText('我想取銷預約')).toBe('我想取消预约');
    expect(normaliseText('我要转人公')).toBe('我要转人工');
    // A stretch with a character that means something alone stays: 只牙 is "my tooth", not 植牙 (implant).
    expect(normaliseText('我只牙好痛')).toBe('我只牙好痛');
    expect(normaliseText('洗牙九十五蚊唔包保險')).not.toContain('宝宝');
  });

  it('a misheard word counts for the entry that speaks of its concept, and against one that does not', () => {
    const cancel = ['I want to cancel my appointment.', 'Please cancel my appointment.'];
    const book = ["I'd like to book an appointment.", 'I need to see a dentist.', 'Can I make an appointment?'];
    expect(reasonInEntry('I need to council my appointment', cancel)).toBe('ok');
    expect(reasonInEntry('I need to council my appointment', book)).toBe('intent');
    expect(reasonInEntry('i have a dental emergence see what should i do', book)).toBe('topic');
    // A real word that only sounds like one ("tarde" / "tarda") is not read as it where the entry does not speak of it.
    expect(reasonInEntry('¿cobran algo si cancelo tarde?', ['Quiero cancelar mi cita.'])).not.toBe('ok');
  });
});
