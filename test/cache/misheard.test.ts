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

  it('reads a weekday whose last character was misheard, and leaves 星期几 and other words alone', () => {
    expect(normaliseText('你地星期陸開唔開')).toBe(normaliseText('你哋星期六開唔開'));
    expect(normaliseText('星期添开门吗')).toBe(normaliseText('星期天开门吗'));
    expect(analyse('星期添开门吗').entities).toEqual(['day:sun']);
    expect(normaliseText('星期几开门')).toContain('星期几');
  });

  it('joins a word the recogniser split, only where the whole is or sounds like a vocabulary word', () => {
    expect(normaliseText('is dental in surance accepted there')).toBe(normaliseText('is dental insurance accepted there'));
    expect(analyse('i want to can sell my appointment').heard.get('cansell')?.key).toBe('k:cancel');
    expect(reasonInEntry('i want to can sell my appointment', ['I want to cancel my appointment.'])).toBe('ok');
    expect(reasonInEntry('i want to can sell my appointment', ["I'd like to book an appointment."])).not.toBe('ok');
    expect(normaliseText('what time do you close on weak days')).toBe(normaliseText('what time do you close on weekdays'));
    expect(normaliseText('are you open on satur day')).toBe(normaliseText('are you open on saturday'));
    expect(normaliseText('i feel weak today')).toContain('weak today');
    expect(normaliseText('can i park my car')).toBe('can i park my car'); // known words stay apart
    expect(normaliseText('can some one see me')).toContain('some one'); // "someone" is no vocabulary word
  });

  it('reads a spelling slip in a closed vocabulary, never an ambiguous one or in an open vocabulary', () => {
    const calendar = new Misheard(['wednesday', 'weekday', 'viernes', 'saturday'], [], () => false, { slips: true });
    expect(calendar.latin('wenesday')).toBe('wednesday'); // one letter off, the sound key misses it
    expect(calendar.latin('saturdy')).toBe('saturday');
    expect(calendar.latin('wensday')).toBeNull(); // two off both wednesday and weekday: ambiguous
    expect(calendar.latin('satur')).toBeNull(); // too far
    const open = new Misheard(['change', 'cancel'], [], () => false);
    expect(open.latin('chance')).toBeNull(); // a real word one letter off "change" is not "change"
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

describe('calendar facts, bookings and ages (issue 15)', () => {
  const weekday = ['What are your opening hours on weekdays?', 'What time do you open on weekdays?'];
  const book = ["I'd like to book an appointment.", 'Can I make an appointment?', 'I want to schedule a checkup.'];
  const cancel = ['I want to cancel my appointment.', 'Please cancel my appointment.'];
  const kids = ['Do you treat children?', 'Do you see kids?'];
  it('a named weekday is one of the weekdays; another day or a weekend is not', () => {
    expect(reasonInEntry('what time do you open on tuesday', weekday)).toBe('ok');
    expect(reasonInEntry('明天周三你们开到几点？', ['你们工作日几点开门？', '工作日开到几点？'])).toBe('ok');
    expect(reasonInEntry('what time do you open on saturday', weekday)).toBe('entity');
  });
  it('a booking, cancellation or move keeps its details: the day, a relative week, what is booked', () => {
    expect(reasonInEntry('I need to cancel my appointment on thursday', cancel)).toBe('ok');
    expect(reasonInEntry('can I book an appointment for next week', book)).toBe('ok');
    expect(reasonInEntry('I want to book a cleaning', book)).toBe('ok');
    // A named day may ask whether the clinic opens: not a booking detail.
    expect(reasonInEntry('do you do saturday appointments', book)).toBe('entity');
    // What is booked alone is not a booking.
    expect(reasonInEntry('a cleaning', book)).not.toBe('ok');
  });
  it('a child’s age is a child, not a number to compare', () => {
    expect(reasonInEntry('do you see my four year old', kids)).toBe('ok');
    expect(reasonInEntry('我個女四歲，你哋睇唔睇？', ['你哋有冇幫小朋友睇牙？', '你哋睇唔睇兒童？'])).toBe('ok');
  });
  it('a modifier does not stand in for what an action phrasing is about, and 別的 is not a negation', () => {
    expect(reasonInEntry('我想换个牙医', ['我想改期。', '可以改预约时间吗？'])).toBe('content-swap');
    expect(reasonInEntry('我想把预约改到别的日子', ['我想把预约改到别的日子。', '可以改预约时间吗？'])).toBe('ok');
    // Not knowing is still a negation: "I don't know whether to cancel" is not a cancel request.
    expect(reasonInEntry('我唔知要唔要取消', ['我想取消預約。', '幫我取消個預約。'])).toBe('negation');
  });
});
