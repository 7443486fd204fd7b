// Word lists the cache's normaliser, guard and hashing embedder share. They are general language
// facts (function words, fillers, negators, number and calendar words), not phrases of any one
// FAQ: the guard must generalise to traffic it has never seen.

/** Hesitations and politeness that never change what is asked; dropped before matching. */
export const FILLERS = new Set([
  // English
  'um', 'umm', 'uh', 'uhh', 'erm', 'er', 'ah', 'hmm', 'mm', 'oh', 'okay', 'ok', 'so', 'well', 'please',
  'hi', 'hello', 'hey', 'actually', 'basically', 'just', 'yeah', 'anyway', 'kindly', 'guys', "y'all", 'yall', 'folks',
  // Spanish
  'eh', 'este', 'pues', 'bueno', 'hola', 'oiga', 'oye', 'mire', 'vale',
  // French / German / Portuguese / Italian (common openers)
  'euh', 'bonjour', 'bah', 'ähm', 'äh', 'hallo', 'olá', 'ciao', 'allora',
]);

/** Multi-word fillers, matched on the token sequence. */
export const FILLER_PHRASES: string[][] = [
  ['you', 'know'], ['i', 'mean'], ['quick', 'question'], ['one', 'question'], ['por', 'favor'], ['o', 'sea'], ['es', 'que'], ['sil', 'vous', 'plait'], ['sil', 'vous', 'plaît'],
];

/** CJK politeness and hesitation strings (no spaces in these scripts, so matched as substrings). */
export const CJK_FILLERS = [
  '請問', '请问', '唔該', '唔该', '麻煩你', '麻烦你', '麻煩', '麻烦', '呃', '嗯', '喂', '哎', '诶', '欸', '唉', '你好', '您好',
  // discourse markers: "that…", "I'd like to ask", "roughly", "exactly", "usually"
  '那個', '那个', '呢個', '想問一下', '想问一下', '想問吓', '想问吓', '想問下', '想问下', '問一下', '问一下', '問吓', '问吓', '問下', '问下',
  '大概', '大約', '大约', '具體', '具体', '確實', '确实', '到底', '究竟', '一般', '通常', '平時', '平时', '平常', '其實', '其实',
  '還有就是', '还有就是', '就是', '的話', '的话', '嘅話', '方便',
];
/** Sentence-final particles: dropped only at the end of a CJK clause. */
export const CJK_FINAL_PARTICLES = '呀啊啦喇嘛吖囉咯喎噃吧㗎嘞哦喔咋啫呗唄';

/** English contractions expanded before analysis so "don't" and "do not" look alike. */
export const CONTRACTIONS: Array<[RegExp, string]> = [
  [/\bwon't\b/g, 'will not'],
  [/\bcan't\b/g, 'can not'],
  [/\bshan't\b/g, 'shall not'],
  [/\bain't\b/g, 'is not'],
  [/n't\b/g, ' not'],
  [/\b(i|you|we|they|who|there)'d\b/g, '$1 would'],
  [/\b(i|you|we|they|who)'ve\b/g, '$1 have'],
  [/\b(i|you|we|they|who)'ll\b/g, '$1 will'],
  [/\b(you|we|they|who)'re\b/g, '$1 are'],
  [/\bi'm\b/g, 'i am'],
  [/\b(it|that|what|where|when|how|there|here|who|he|she)'s\b/g, '$1 is'],
  [/\blet's\b/g, 'let us'],
];

/** Words that flip the polarity of a question. Parity must match between query and entry. */
export const NEGATORS = new Set([
  // English
  'not', 'no', 'never', 'nothing', 'nobody', 'none', 'neither', 'nor', 'without', 'nowhere', 'cannot',
  // Spanish / Portuguese / Italian / French / German
  'nunca', 'jamás', 'jamas', 'ni', 'tampoco', 'sin', 'nada', 'nadie', 'ninguno', 'ninguna', 'não', 'nao', 'sem', 'nem',
  'non', 'mai', 'senza', 'nessuno', 'ne', 'pas', 'jamais', 'rien', 'personne', 'sans', 'nicht', 'nie', 'kein', 'keine',
  'keinen', 'niemals', 'ohne', 'nichts',
]);

/** CJK negators (single characters), and compounds that contain one but do not negate. */
export const CJK_NEGATORS = '不唔冇沒没未別别勿無无莫甭';
export const CJK_NON_NEGATING = [
  '唔該', '唔该', '唔好意思', '不好意思', '不過', '不过', '不錯', '不错', '不客氣', '不客气', '冇問題', '沒問題', '没问题',
  '無論', '无论', '不論', '不论', '不如', '未來', '未来', '毫無疑問',
  // 別 as "other" and in compounds, not "don't"
  '別的', '别的', '別人', '别人', '別處', '别处', '特別', '特别', '分別', '分别', '區別', '区别',
];

/**
 * Function words per Latin-script language. They carry little meaning (down-weighted by the
 * hashing embedder, ignored by the content-word rule) and their mix tells languages apart.
 */
export const FUNCTION_WORDS: Record<string, Set<string>> = {
  en: new Set(
    ('a an the this that these those is are was were be been being am do does did doing have has had having ' +
      'i me my mine you your yours we us our ours they them their he him his she her it its who whom whose ' +
      'what which where when why how there here if then than to of in on at by for from with about into onto ' +
      'over under up down out off as and or but so because while during before after until can could would ' +
      'should shall will may might must want wanted wants like need needs needed wish hoping hope let lets tell ' +
      'know any some all more most much many very really also too still yet now again ever thing things something ' +
      'anything someone anyone somebody anybody somewhere anywhere another other others different same such ' +
      'get got getting make making made take taking took give go going come coming put see seeing look ' +
      'please thanks thank time times way one ones guys whats hey').split(' '),
  ),
  es: new Set(
    ('el la los las un una unos unas lo le les de del al a en con por para que qué cuál cual cuáles cuales ' +
      'cómo como dónde donde cuándo cuando quién quien es son está están esta estan ser estar hay me mi mis ' +
      'tu tus su sus nuestro nuestra yo usted ustedes nosotros se y o pero si este esta ese esa muy más mas ' +
      'quiero quiere quisiera quería queria puedo puede pueden podría podria necesito necesita gustaría gustaria ' +
      'hacer hago tener tengo tiene ir voy dar algo alguien otro otra otros mismo tan también tambien ya').split(' '),
  ),
  fr: new Set(
    ('le la les un une des de du au aux en dans avec pour par que qui quoi quel quelle est sont je tu il elle ' +
      'nous vous ils elles mon ma mes votre vos notre ce cette et ou mais si très plus veux voudrais peux ' +
      'pouvez faire avoir être').split(' '),
  ),
  de: new Set(
    ('der die das den dem des ein eine einen einem und oder aber ist sind war ich du er sie es wir ihr mein ' +
      'meine ihr ihre unser zu von mit für auf an in im wie was wo wann warum kann können möchte will bitte ' +
      'haben sein machen').split(' '),
  ),
  pt: new Set(
    ('o a os as um uma de do da dos das em no na com por para que qual quais como onde quando é são está ' +
      'estão eu você vocês meu minha seu sua e ou mas se muito mais quero queria posso pode fazer ter').split(' '),
  ),
  it: new Set(
    ('il lo la i gli le un uno una di del della in con per che quale come dove quando è sono io tu lui lei ' +
      'noi voi mio mia suo sua e o ma se molto più voglio vorrei posso può fare avere essere').split(' '),
  ),
};

/** CJK characters that are grammar, not content (pronouns, particles, copulas, question words). */
export const CJK_FUNCTION_CHARS = new Set(
  [...'你我佢他她它哋們们的嘅係是喺在有冇嗎吗呢咩乜嘢啲個个些就都也又和同及與与或要想會会可以能咗了過过着緊紧嚟來来去俾畀給给被將将把從从對对於于為为幾几多少點点邊边哪誰谁甚什麼么樣样呀啊啦喇嘛得到下吓咁噉嗰咪幫帮請请' +
    // closed-class words a caller adds anywhere: "first/only", "still", "this", "namely"
    '先還还這这即'],
);

/**
 * Number words. "one"/"uno"/"一" are left out on purpose: they are usually articles ("a"). Words
 * that are also common words in another listed language (Spanish "once" = 11) are left out too.
 */
export const NUMBER_WORDS: Record<string, number> = {
  two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19, twenty: 20,
  thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90, hundred: 100, thousand: 1000,
  million: 1e6, half: 0.5, dozen: 12, couple: 2, pair: 2, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6,
  seventh: 7, eighth: 8, ninth: 9, tenth: 10, twice: 2,
  dos: 2, tres: 3, cuatro: 4, cinco: 5, seis: 6, siete: 7, ocho: 8, nueve: 9, diez: 10, doce: 12,
  veinte: 20, treinta: 30, cien: 100, ciento: 100, mil: 1000, segundo: 2, segunda: 2, tercero: 3, tercera: 3,
};

/** Chinese numerals (一 only counts inside a larger number, like 十一). */
export const CJK_DIGITS: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 兩: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
export const CJK_UNITS: Record<string, number> = { 十: 10, 百: 100, 千: 1000, 萬: 10000, 万: 10000 };

/**
 * Calendar and time entities: each pattern maps to a canonical tag, and the set of tags must be
 * equal between a query and an entry ("Saturday" never answers "Sunday"; "Saturday evening" is
 * not "Saturday"). Ranges that mean "weekdays" map to the same tag as "weekdays".
 * Applied to lower-cased text with single spaces, before numbers are read.
 */
export const ENTITY_PATTERNS: Array<[RegExp, string]> = [
  // ranges and spans first, so their parts are not read as single days
  [/\b(mon(day)?|lunes) ?(to|through|thru|till|until|-|a|hasta) ?(fri(day)?|viernes)\b/g, 'day:weekdays'],
  [/\b(during|in|through) the week\b|\bdurante la semana\b/g, 'day:weekdays'],
  [/\b(week ?days?|work ?days?|business days?|working days?|entre semana|días laborables|dias laborables|días de semana|dias de semana)\b/g, 'day:weekdays'],
  [/\b(week ?ends?|fin(es)? de semana)\b/g, 'day:weekend'],
  [/(星期|禮拜|礼拜|週|周)[一1](至|到|-)(星期|禮拜|礼拜|週|周)?[五5]/g, 'day:weekdays'],
  [/(平日|工作日|週日間|周日间)/g, 'day:weekdays'],
  [/(週末|周末)/g, 'day:weekend'],
  [/(星期|禮拜|礼拜|週|周)(一|1)/g, 'day:mon'],
  [/(星期|禮拜|礼拜|週|周)(二|2)/g, 'day:tue'],
  [/(星期|禮拜|礼拜|週|周)(三|3)/g, 'day:wed'],
  [/(星期|禮拜|礼拜|週|周)(四|4)/g, 'day:thu'],
  [/(星期|禮拜|礼拜|週|周)(五|5)/g, 'day:fri'],
  [/(星期|禮拜|礼拜|週|周)(六|6)/g, 'day:sat'],
  [/(星期|禮拜|礼拜)(日|天)|週日|周日/g, 'day:sun'],
  [/\b(mondays?|mon|lunes)\b/g, 'day:mon'],
  [/\b(tuesdays?|tues?|martes)\b/g, 'day:tue'],
  [/\b(wednesdays?|weds?|miércoles|miercoles)\b/g, 'day:wed'],
  [/\b(thursdays?|thurs?|jueves)\b/g, 'day:thu'],
  [/\b(fridays?|fri|viernes)\b/g, 'day:fri'],
  [/\b(saturdays?|sat|sábados?|sabados?)\b/g, 'day:sat'],
  [/\b(sundays?|domingos?)\b/g, 'day:sun'],
  [/\b(today|tonight|hoy|esta noche)\b|今日|今天|今晚/g, 'day:today'],
  [/\b(tomorrow|pasado mañana)\b|(?<!\b(la|las) )\bmañana\b(?! (por|de) la (mañana|tarde|noche))|聽日|听日|明天|明日/g, 'day:tomorrow'],
  // a week named relative to now: a booking's day, not opening hours
  [/\b(next week|this week|la (próxima|proxima|otra) semana|la semana que viene|esta semana)\b|(下|今|呢|这|這)(個|个)?(星期|禮拜|礼拜|週|周)/g, 'week:relative'],
  [/\byesterday\b|\bayer\b|尋日|寻日|昨天/g, 'day:yesterday'],
  [/\b(holidays?|bank holidays?|public holidays?|festivos?|feriados?|vacaciones)\b|假期|公眾假期|公众假期|假日/g, 'day:holiday'],
  [/\b(christmas|xmas|navidad|nochebuena)\b|聖誕|圣诞/g, 'day:christmas'],
  [/\b(new year'?s?|año nuevo|ano nuevo)\b|新年|元旦/g, 'day:newyear'],
  [/\b(easter|semana santa|pascua)\b|復活節|复活节/g, 'day:easter'],
  [/\b(thanksgiving)\b/g, 'day:thanksgiving'],
  [/(農曆新年|农历新年|春節|春节)/g, 'day:lunarnewyear'],
  // parts of the day
  [/\b(mornings?|por la mañana|de la mañana|por la manana)\b|朝早|上午|早上|早晨/g, 'time:morning'],
  [/\b(noon|midday|lunch ?time|mediodía|mediodia)\b|中午|晏晝|晏昼/g, 'time:noon'],
  [/\b(afternoons?|por la tarde|de la tarde)\b|下晝|下昼|下午/g, 'time:afternoon'],
  [/\b(evenings?|nights?|por la noche|de la noche)\b|夜晚|晚上|夜間|夜间/g, 'time:evening'],
  [/\b(midnight|medianoche)\b|半夜|午夜/g, 'time:midnight'],
  [/\b(late|early|temprano)\b/g, 'time:relative'],
  [/\b(after ?hours|out of hours)\b/g, 'time:afterhours'],
  // months
  [/\b(january|enero)\b/g, 'month:1'], [/\b(february|febrero)\b/g, 'month:2'], [/\b(march|marzo)\b/g, 'month:3'],
  [/\b(april|abril)\b/g, 'month:4'], [/\b(june|junio)\b/g, 'month:6'], [/\b(july|julio)\b/g, 'month:7'],
  [/\b(august|agosto)\b/g, 'month:8'], [/\b(september|septiembre|setiembre)\b/g, 'month:9'],
  [/\b(october|octubre)\b/g, 'month:10'], [/\b(november|noviembre)\b/g, 'month:11'],
  [/\b(december|diciembre)\b/g, 'month:12'], [/\bmayo\b/g, 'month:5'],
  [/(十二|十一|十|[一二三四五六七八九]|1[0-2]|[1-9])月/g, 'month:cjk$1'],
];

/** Calendar words, as a misheard word may stand for one ("sundae" is "sunday"). */
export const CALENDAR_WORDS =
  'monday tuesday wednesday thursday friday saturday sunday weekday weekdays weekend lunes martes miercoles jueves viernes sabado sabados domingo domingos'.split(' ');

/** Irregular English plurals the suffix stemmer cannot undo. */
export const IRREGULAR: Record<string, string> = {
  children: 'child', kids: 'kid', teeth: 'tooth', people: 'person', men: 'man', women: 'woman', feet: 'foot',
  mice: 'mouse', geese: 'goose', lives: 'life', wives: 'wife', knives: 'knife',
};

/**
 * What a word or phrase stands for, so paraphrases meet ("car park" / "parking" / "estacionamiento"
 * / "泊車" / "停车场") and a swapped thing shows ("crown" is not "cleaning"). Each concept lists its
 * words in any of the supported languages, separated by "|": Latin words match as written or by
 * stem, several words as a phrase, CJK strings by longest match (Traditional and Simplified alike).
 * Kinds mark the things a question is about and cannot swap without changing the question:
 * - action: what the caller wants done to a booking (cancel, reschedule); two never answer each other;
 * - aspect: what is asked about the business (hours, where, price, parking, paying, signing up);
 * - service, person, place, animal, payment: what or whom it is about; a query naming one the
 *   entry never mentions is another question ("how much is a crown" is not "how much is a cleaning").
 * - modifier: words that narrow nothing (near, dental, the clinic itself): may be added to a question.
 * Untyped concepts only join synonyms (car, appointment, book, pain…). General vocabulary of calls to a business (hours, place,
 * prices, appointments, payment) and to a clinic (common treatments, patients, pain); not the
 * phrases of any one FAQ.
 */
export type ConceptKind = 'action' | 'aspect' | 'service' | 'person' | 'place' | 'animal' | 'payment' | 'modifier';
export const CONCEPTS: Array<{ id: string; kind?: ConceptKind; words: string }> = [
  // actions
  { id: 'book', words: 'book|schedule|reserve|arrange|rebook in|book in|set up|reservar|agendar|programar|apartar|挂号|掛號|订|訂' },
  { id: 'cancel', kind: 'action', words: 'cancel|call off|cancellation|cancelar|anular|cancelación|cancelacion|取消|cancel' },
  { id: 'reschedule', kind: 'action', words: 'reschedule|move|change|postpone|push back|bring forward|switch|shift|cambiar|mover|reprogramar|posponer|aplazar|pasar|改期|改|换|換|调|調|延期' },
  // business facts
  { id: 'hours', kind: 'aspect', words: 'open|opening|opens|close|closing|closed|shut|hours|hour|business hours|opening times|que hora|horario|horarios|abrir|abren|abre|abierto|abiertos|abierta|cerrar|cierran|cierra|cerrado|cerrados|trabajan|營業|营业|開門|开门|閂門|闩门|關門|关门|開|开|閂|闩|休息|上班|收工|營業時間|营业时间|開放|开放|開到|开到|幾點|几点' },
  { id: 'where', kind: 'aspect', words: 'where|address|located|location|situated|whereabouts|find you|get to|get there|directions|street|dirección|direccion|ubicado|ubicados|ubicada|ubicación|ubicacion|queda|encuentran|encuentra|calle|llegar|llego|dónde|donde|地址|位置|邊度|边度|邊|边|哪裡|哪里|哪兒|哪儿|哪|什麼地方|什么地方|點去|点去|怎麼走|怎么走|怎麼去|怎么去|點樣去|点样去|街|floor|which floor|piso|planta|幾樓|几楼|幾多樓|几多楼|哪層|哪层|幾層|几层' },
  { id: 'price', kind: 'aspect', words: 'how much|price|prices|cost|costs|charge|charges|fee|fees|rate|rates|pricing|expensive|cuánto|cuanto|cuesta|cuestan|costo|coste|precio|precios|cobran|cobrar|vale|sale|tarifa|幾多錢|几多钱|幾錢|几钱|多少錢|多少钱|收費|收费|價錢|价钱|價格|价格|費用|费用|收幾多|收几多|幾多|几多|多少|錢|钱|價|价|蚊' },
  // How long something takes is not what it costs: "¿cuánto tarda?" is not "¿cuánto cuesta?".
  { id: 'duration', kind: 'aspect', words: 'how long|take long|takes long|duration|cuánto tiempo|cuanto tiempo|tarda|tardan|tardar|demora|demoran|duración|duracion|dura|duran|幾耐|几耐|幾長時間|几长时间|多久|多長時間|多长时间|要幾耐|要几耐' },
  { id: 'park', kind: 'aspect', words: 'park|parking|car park|parking lot|parking space|garage|estacionar|estacionamiento|aparcar|aparcamiento|parqueo|parquear|parking|泊車|泊车|停車|停车|車位|车位|停車場|停车场|泊|停' },
  { id: 'car', words: 'car|vehicle|coche|carro|auto|vehículo|vehiculo|車|车|揸車|揸车|開車|开车' },
  { id: 'appointment', words: 'appointment|appointments|booking|bookings|appt|visit|slot|consultation|cita|citas|turno|consulta|預約|预约|約|约|時間|时间|期' },
  { id: 'accept', words: 'accept|accepted|accepting|take|takes|taking|work with|honour|honor|aceptan|aceptar|acepta|aceptado|recibe|reciben|收|接受|接唔接受|走|用' },
  { id: 'pay', kind: 'aspect', words: 'pay|paying|payment|payments|pagar|pago|pagos|pagan|俾錢|俾钱|畀錢|畀钱|付款|付錢|付钱|支付|畀|俾|付' },
  { id: 'free', words: 'free|no charge|gratis|gratuito|gratuita|免費|免费' },
  { id: 'near', kind: 'modifier', words: 'near|nearby|around here|close by|cerca|附近|隔離|隔离' },
  { id: 'tooth', kind: 'modifier', words: 'tooth|teeth|molar|molars|diente|dientes|muela|muelas|牙|牙齒|牙齿|齒|齿' },
  { id: 'dental', kind: 'modifier', words: 'dental|dentistry|dentist|dentists|doctor|doc|odontólogo|odontologo|dentista|dentistas|doctora|牙醫|牙医|醫生|医生|牙科|睇牙|看牙' },
  { id: 'clinic', kind: 'modifier', words: 'clinic|office|practice|surgery|center|centre|clínica|clinica|consultorio|centro|診所|诊所|醫務所|医务所|度' },
  { id: 'see', words: 'see|seen|treat|treats|treated|treating|examine|atender|atienden|atiende|ver|tratar|tratan|睇|看|診|诊' },
  { id: 'talk', words: 'talk|speak|speaking|talking|chat|put me through|put through|transfer|connect|hablar|hable|comunicar|comunica|comunique|pasar con|páseme|paseme|講|讲|傾|倾|說話|说话|講嘢|讲嘢|轉接|转接|轉|转|搵|找|接' },
  { id: 'human', kind: 'person', words: 'person|human|real person|receptionist|reception|front desk|staff|staff member|operator|agent|representative|someone real|persona|humano|recepción|recepcion|recepcionista|agente|operador|operadora|personal|真人|人工|職員|职员|工作人員|工作人员|前台|接待處|接待处|接待|客服' },
  { id: 'new', words: 'new|first time|nuevo|nuevos|nueva|nuevas|primera vez|新' },
  { id: 'patient', words: 'patient|patients|paciente|pacientes|病人|患者|新症|客人' },
  { id: 'register', kind: 'aspect', words: 'register|registration|sign up|join|enrol|enroll|registrar|registrarme|inscribir|inscribirme|登記|登记|註冊|注册|加入' },
  { id: 'emergency', kind: 'aspect', words: 'emergency|emergencies|urgent|urgently|asap|right away|urgencia|urgencias|emergencia|urgente|急症|緊急|紧急|急' },
  { id: 'pain', words: 'pain|painful|hurt|hurts|hurting|ache|aching|toothache|sore|killing me|dolor|duele|duelen|doler|adolorido|痛|疼|痛死|疼死' },
  { id: 'bleed', words: 'bleed|bleeding|bleeds|blood|sangrado|sangra|sangre|sangrando|流血|出血|血' },
  { id: 'broken', words: 'broke|broken|break|cracked|crack|chipped|chip|fell out|roto|rota|rompió|rompio|partido|partió|partio|崩|斷|断|裂|爛|烂|甩' },
  // kinds: what a question is about
  { id: 'child', kind: 'person', words: 'child|children|kid|kids|son|daughter|baby|toddler|little one|minor|minors|boy|girl|niño|niños|nino|ninos|niña|niñas|nina|ninas|hijo|hijos|hija|hijas|menor|menores|bebé|bebe|infantil|小朋友|細路|细路|細路仔|细路仔|小孩|小孩子|孩子|兒童|儿童|個仔|个仔|個女|个女|仔|女兒|女儿|兒子|儿子|囡囡|BB|寶寶|宝宝|嬰兒|婴儿' },
  { id: 'adult', kind: 'person', words: 'adult|adults|grown up|grownup|elderly|senior|seniors|pensioner|adulto|adultos|mayores|anciano|ancianos|tercera edad|大人|成人|成年人|老人|長者|长者|老人家' },
  { id: 'cleaning', kind: 'service', words: 'cleaning|clean|cleaned|cleanings|scale and polish|scaling|hygiene|limpieza|limpiezas|limpiar|洗牙|潔牙|洁牙' },
  { id: 'whitening', kind: 'service', words: 'whitening|whiten|whitened|bleaching|bleach|blanqueamiento|blanquear|blanqueo|美白|整白|漂白' },
  { id: 'checkup', kind: 'service', words: 'checkup|check up|check-up|exam|examination|revisión|revision|chequeo|revisar|檢查|检查|驗牙|验牙' },
  { id: 'filling', kind: 'service', words: 'filling|fillings|cavity|cavities|empaste|empastes|caries|補牙|补牙|蛀牙' },
  { id: 'root-canal', kind: 'service', words: 'root canal|root canals|endodontic|endodoncia|杜牙根|根管|抽神經|抽神经' },
  { id: 'crown', kind: 'service', words: 'crown|crowns|bridge|bridges|corona|coronas|puente|牙冠|牙套|牙橋|牙桥' },
  { id: 'implant', kind: 'service', words: 'implant|implants|implante|implantes|種牙|种牙|植牙' },
  { id: 'braces', kind: 'service', words: 'braces|brace|aligner|aligners|invisalign|orthodontics|orthodontist|brackets|frenos|ortodoncia|箍牙|矯正|矫正|牙箍' },
  { id: 'extraction', kind: 'service', words: 'extraction|extract|pull|pulled|wisdom tooth|wisdom teeth|extracción|extraccion|sacar una muela|muela del juicio|拔牙|剝牙|剥牙|脫牙|脱牙|智慧齒|智慧齿|智齒|智齿|拔' },
  { id: 'xray', kind: 'service', words: 'x-ray|xray|x ray|x-rays|xrays|radiograph|radiografía|radiografia|照X光|X光' },
  { id: 'veneers', kind: 'service', words: 'veneer|veneers|carilla|carillas|貼片|贴片|瓷貼片|瓷贴片' },
  { id: 'dentures', kind: 'service', words: 'denture|dentures|false teeth|dentadura|dentaduras|假牙' },
  { id: 'hospital', kind: 'place', words: 'hospital|hospitals|emergency room|er|a&e|hospital|醫院|医院|急症室' },
  { id: 'pharmacy', kind: 'place', words: 'pharmacy|chemist|drugstore|farmacia|藥房|药房|藥店|药店|藥局|药局' },
  { id: 'station', kind: 'place', words: 'station|subway|metro|bus stop|train|estación|estacion|metro|地鐵站|地铁站|車站|车站|地鐵|地铁' },
  { id: 'branch', kind: 'place', words: 'branch|branches|other location|other locations|sucursal|sucursales|otra clínica|otra clinica|分店|分行|分院|分所' },
  { id: 'shop', kind: 'place', words: 'shop|store|mall|restaurant|supermarket|tienda|centro comercial|restaurante|商場|商场|餐廳|餐厅|超市' },
  { id: 'pet', kind: 'animal', words: 'pet|pets|dog|dogs|cat|cats|animal|animals|mascota|mascotas|perro|perros|gato|gatos|animales|寵物|宠物|狗|貓|猫|動物|动物' },
  { id: 'insurance', kind: 'payment', words: 'insurance|insured|insurer|insurers|dental plan|health plan|coverage|cover|covered|seguro|seguros|aseguradora|aseguradoras|cobertura|cubren|cubre|保險|保险|醫保|医保|保' },
  { id: 'card', kind: 'payment', words: 'card|cards|credit card|debit card|visa|mastercard|amex|contactless|tarjeta|tarjetas|crédito|credito|débito|debito|信用卡|卡|拍卡|刷卡' },
  { id: 'cash', kind: 'payment', words: 'cash|efectivo|現金|现金' },
  { id: 'instalments', kind: 'payment', words: 'payment plan|payment plans|instalments|installments|finance|financing|plazos|financiamiento|financiación|分期|供款' },
];

/** CJK idioms of degree whose negator does not negate the question ("can't bear it" = very). */
export const CJK_INTENSIFIERS = ['頂唔順', '顶唔顺', '受不了', '受唔了', '忍不住', '忍唔住', '不得了', '唔得了'];

/** Light English and Spanish verbs and adverbs that rarely change what is asked (function-like). */
export const LIGHT_WORDS = new Set(
  ('leave bring use used using right now currently sometime possible possibly also ok able anything day days ' +
    'exactly precisely roughly approximately usually normally generally typically maybe perhaps probably rather actual ' +
    'method methods form forms kind kinds type types option options ' +
    'poder puedes podemos voy vas va vamos hay algún algun alguna hacer favor ahora dia dias ' +
    'exactamente aproximadamente normalmente generalmente bien forma formas metodo metodos tipo tipos').split(' '),
);

/**
 * Words a negator passes over to reach what it negates: auxiliaries, modals, pronouns ("I don't
 * want to cancel" negates "cancel"; "no puedo ir" negates "ir"; "我唔想預約" negates "預約").
 */
export const NEGATION_TRANSPARENT = new Set(
  ('do does did am is are was were be been able to want wants wanted need needs needed like would could can should will shall ' +
    'have has had got going gonna wanna really actually even i you we me my it that this a an the yet so ' +
    'quiero quiere queremos quisiera puedo puede podemos poder voy vas va vamos a tengo tiene que necesito necesita ' +
    'me se lo la le yo usted es esta estoy ' +
    '我你佢他她哋们們想要会會能可以係系是就都也再').split(' ').flatMap((w) => ([...w].some((c) => c > '\u2e80') ? [...w] : [w])),
);
/** CJK potential complements: after "V唔"/"V不" they make the negator negate V ("去不了", "嚟唔到"). */
export const CJK_COMPLEMENTS = '了到起切晒掂成完';
