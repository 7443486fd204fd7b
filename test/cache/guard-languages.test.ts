// The near-miss guard, language by language (issue 15): each pair is a stored phrasing and a
// caller's question; the guard must refuse every one that another answer would serve wrongly,
// and let paraphrases through. Each case fails on its own if its rule is lost.
import { describe, expect, it } from 'vitest';
import { analyse, coverageOf, guard, type GuardReason } from '../../engine/cache/guard.ts';

/** The guard's verdict on the query against one stored phrasing (its entry holds only that phrasing). */
const reason = (query: string, stored: string): GuardReason | 'ok' => guard(analyse(query), analyse(stored)).reason ?? 'ok';
/** Against a phrasing of an entry that has other phrasings too. */
const reasonInEntry = (query: string, stored: string, others: string[]): GuardReason | 'ok' =>
  guard(analyse(query), analyse(stored), coverageOf([stored, ...others].map(analyse))).reason ?? 'ok';

describe('guard: negation and refusal', () => {
  it.each([
    // English: not / don't / no / never
    ["no, I don't want to book an appointment", "I'd like to book an appointment."],
    ["I don't want to cancel my appointment", 'I want to cancel my appointment.'],
    ['I never asked to cancel anything', 'I need to cancel my visit.'],
    ['no thanks', 'yes please'],
    ["I don't have insurance", 'Do you take my insurance?'],
    // Spanish: no / nunca
    ['no quiero pedir una cita', 'Quiero pedir una cita.'],
    ['no, no quiero cancelar mi cita', 'Quiero cancelar mi cita.'],
    ['nunca pedí una cita', 'Quiero pedir una cita.'],
    // Cantonese: 唔 / 冇 / 別
    ['我唔想預約', '我想預約睇牙。'],
    ['唔好取消我個預約', '我想取消預約。'],
    ['我冇話要取消預約', '我想取消預約。'],
    ['別幫我預約', '我想預約。'],
    // Mandarin: 不 / 沒 / 别
    ['我不想预约', '我想预约看牙。'],
    ['我没说要取消预约', '我想取消预约。'],
    ['别取消我的预约', '我要取消预约。'],
    ['不要取消我的預約', '帮我取消预约。'],
  ])('%s ≠ %s', (query, stored) => {
    expect(reason(query, stored)).toBe('negation');
  });

  it('a negated phrasing does not let a negated question of another verb through', () => {
    // "can't make it, cancel" is stored; "don't cancel" negates the cancel itself.
    expect(reason("I don't want to cancel my appointment", "I can't make my appointment, please cancel it.")).toBe('negation');
    expect(reason('不要取消我的预约', '我去不了了，想取消预约。')).toBe('negation');
  });

  it('two negations of different words do not match (what is negated must be the same)', () => {
    // Each stored phrasing holds a negation ("can't come"); the question negates "say".
    expect(reason("I didn't say I want to cancel my appointment", "I can't make my appointment, please cancel it.")).toBe('negation');
    expect(reason('我冇話要取消預約', '我嚟唔到，想取消預約。')).toBe('negation');
    expect(reason('我没说要取消预约', '我去不了了，想取消预约。')).toBe('negation');
    // "won't be able to make it" negates what "can't make" does.
    expect(reason("I won't be able to make it, can you cancel my appointment", "I can't make my appointment, please cancel it.")).toBe('ok');
  });

  it('question forms and politeness are not negations', () => {
    expect(reason('你哋星期六開唔開？', '星期六有冇開？')).toBe('ok'); // A-not-A, 有冇
    expect(reason('收唔收保險？', '你哋收唔收牙科保險？')).toBe('ok');
    expect(reason('星期六开不开门？', '你们星期六开门吗？')).toBe('ok');
    expect(reason('唔該，我想取消預約', '我想取消預約。')).toBe('ok');
    expect(reason('我牙痛到頂唔順', '我牙好痛')).toBe('ok'); // an idiom of degree
    expect(reason('no puedo ir, cancele mi cita', 'No voy a poder ir a mi cita, quiero anularla.')).toBe('ok');
  });

  it('a clause-final negator and a tag question ask, they do not refuse', () => {
    expect(reason('礼拜天你们开门不？', '你们星期天开门吗？')).toBe('ok');
    expect(reason('星期六有無開', '星期六有冇開？')).toBe('ok');
    expect(reason('¿los sábados abren o no?', '¿Abren los sábados?')).toBe('ok');
    expect(reason('are you open on saturday or not', 'Are you open on Saturday?')).toBe('ok');
    // After a pronoun it still refuses: "我冇" is "I haven't (any)".
    expect(reason('我冇', '有冇車位？')).toBe('negation');
  });

  it('CJK discourse markers are not new words', () => {
    expect(reason('嗯，那个，周六你们开不开门啊？', '你们星期六开门吗？')).toBe('ok');
    expect(reason('喂，唔該，嗯，想問吓你哋平時幾點開㗎？', '你哋平日幾點開門？')).not.toBe('topic');
    expect(reason('你们诊所具体在什么位置？', '诊所在什么地方？')).toBe('ok');
  });
});

describe('guard: contradicted intents', () => {
  it.each([
    ['I want to cancel my appointment', "I'd like to book an appointment.", 'intent'],
    ['I need to reschedule my appointment', 'I want to cancel my appointment.', 'intent'],
    ['quiero cancelar mi cita', 'Quiero pedir una cita.', 'intent'],
    ['quiero cambiar mi cita', 'Quiero cancelar mi cita.', 'intent'],
    ['我想取消預約', '我想預約睇牙。', 'intent'],
    ['我想改期', '我想取消預約。', 'intent'],
    ['我要取消预约', '我想预约看牙。', 'intent'],
    ['我想预约', '我想取消预约。', 'intent'],
  ])('%s ≠ %s', (query, stored, why) => {
    expect(reason(query, stored)).toBe(why);
  });
});

describe('guard: swapped entities', () => {
  it.each([
    // numbers
    ['can I book for two people', 'can I book for four people', 'number'],
    ['洗兩次牙幾多錢？', '洗三次牙幾多錢？', 'number'],
    // days and times
    ['are you open on sunday', 'Are you open on Saturday?', 'entity'],
    ['are you open on saturday evening', 'Are you open on Saturday?', 'entity'],
    ['¿abren los domingos?', '¿Abren los sábados?', 'entity'],
    ['¿abren el sábado por la tarde?', '¿Abren los sábados?', 'entity'],
    ['星期日開唔開？', '你哋星期六開唔開？', 'entity'],
    ['星期六晚上开门吗？', '你们星期六开门吗？', 'entity'],
    ['春节开门吗？', '你们工作日几点开门？', 'entity'],
    // services
    ['how much is a root canal', 'How much does a cleaning cost?', 'entity'],
    ['how much is a crown', 'How much does a cleaning cost?', 'entity'],
    ['¿cuánto cuesta una endodoncia?', '¿Cuánto cuesta una limpieza?', 'entity'],
    ['箍牙幾多錢？', '洗牙幾多錢？', 'entity'],
    ['拔牙多少钱？', '洗牙多少钱？', 'entity'],
    // people
    ['do you see adults', 'Do you treat children?', 'entity'],
    ['¿atienden a adultos mayores?', '¿Atienden a niños?', 'entity'],
    ['大人睇唔睇？', '你哋有冇幫小朋友睇牙？', 'entity'],
    ['你们看成人吗？', '你们给小孩看牙吗？', 'entity'],
  ])('%s ≠ %s', (query, stored, why) => {
    expect(reason(query, stored)).toBe(why);
  });
});

describe('guard: a question that only shares the topic', () => {
  it.each([
    ['is there parking at the pharmacy', 'Where can I park?', ['Is there parking at the clinic?']],
    ['how much does parking cost', 'Is there parking at the clinic?', ['Where can I park?']],
    ['i want to cancel my insurance', 'Do you accept dental insurance?', ['Can I use my insurance?']],
    ['do you accept pets', 'Do you accept dental insurance?', ['Do you take my insurance?']],
    ['¿dónde está el hospital?', '¿Dónde está la clínica?', ['¿Cuál es su dirección?']],
    ['¿cuánto cuesta el estacionamiento?', '¿Hay estacionamiento en la clínica?', ['¿Dónde puedo estacionar?']],
    ['醫院喺邊度？', '診所喺邊度？', ['你哋地址係咩？']],
    ['泊車幾多錢？', '診所有冇停車場？', ['可以喺邊度泊車？']],
    ['药店在哪里？', '诊所在哪里？', ['你们的地址是什么？']],
    ['你们看宠物吗？', '你们给小孩看牙吗？', ['儿童可以看吗？']],
    // How long it takes is not what it costs.
    ['¿cuánto tarda una limpieza?', '¿Cuánto cuesta una limpieza?', ['¿Cuánto cobran por una limpieza?']],
    ['洗牙要幾耐？', '洗牙幾多錢？', ['洗牙點收費？']],
    ['洗牙要多长时间？', '洗牙多少钱？', []],
    // A word the lexicon knows, new to the entry: "car insurance" is not dental insurance.
    ['do you accept car insurance', 'Do you accept dental insurance?', ['Do you take my insurance?']],
  ])('%s ≠ %s', (query, stored, others) => {
    expect(reasonInEntry(query, stored, others)).not.toBe('ok');
  });
});

describe('guard: paraphrases pass', () => {
  it.each([
    ['where can I leave my car', 'Is there somewhere to park my car?', ['Is there parking at the clinic?', 'Where can I park?']],
    ['does the clinic see children', 'Do you treat children?', ['Do you see kids?']],
    ['put me through to a person', 'Can I speak to a real person?', ['Let me talk to a human.']],
    ['¿dónde puedo dejar el coche?', '¿Dónde dejo el coche?', ['¿Hay estacionamiento en la clínica?']],
    ['¿cuál es su direccion?', '¿Cuál es su dirección?', []],
    ['平日你哋開到幾點？', '你哋平日幾點開門？', []],
    ['洗牙收費幾多？', '洗牙幾多錢？', ['洗牙點收費？']],
    ['洗牙几多钱', '洗牙幾多錢？', []], // simplified characters for a Cantonese entry
    ['周一到周五你们几点关门？', '你们工作日几点开门？', ['平时几点开门几点关门？']],
    ['附近能停车吗？', '在哪里可以停车？', ['诊所有停车场吗？']],
  ])('%s ≈ %s', (query, stored, others) => {
    expect(reasonInEntry(query, stored, others)).toBe('ok');
  });
});

describe('guard: English words inside Chinese sentences', () => {
  it('a borrowed action is read as that action, so it is not served another intent', () => {
    // Recognisers write it with no space; the word used to be dropped with the CJK run.
    expect(reason('唔該幫我cancel個預約', '我想預約睇牙。')).toBe('intent');
    expect(reason('唔該幫我 cancel 個預約', '我想預約睇牙。')).toBe('intent');
    expect(reasonInEntry('唔該幫我cancel個預約', '幫我取消個預約。', ['我想取消預約。'])).toBe('ok');
  });

  it('a borrowed word the lexicon does not type is not a new topic', () => {
    expect(reasonInEntry('幫我book個時間', '我想約時間睇牙醫。', ['我想預約睇牙。'])).toBe('ok');
  });
});
