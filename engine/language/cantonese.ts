// Chinese text → which Chinese: Cantonese or Mandarin (from the words only Cantonese writes:
// 嘅 咗 唔 係 冇 佢 啲 嗰 喺 哋 …, against Mandarin's 的 是 不 没有 他 这 那 在 了 …), and
// Traditional or Simplified (from characters that differ between the scripts). Generic
// detectors just say "zh"; this is what picks zh-HK, yue-CN, zh-TW or zh-CN.

export type ChineseScript = 'Hans' | 'Hant';
export type ChineseVariety = 'yue' | 'cmn';

// Simplified and Traditional forms of common characters, position by position. Only pairs
// where each form is unused in the other script (后/後, 里/裡, 系/係 and the like are left out).
const SIMPLIFIED =
  '们这个时说话会来为国学对还没么关点开门问间见现东电车长书发经过动进实样种应头无与买卖钱预约号码请谢让认识语讲边钟医疗诊药单费银账户订帮给从几吗师场图网证办业务处确签货运邮递线联络华汉欢饭馆楼层换转价该难兴总统员机飞写读记忆岁级带乐准备诉试题验质条优团队协议论报纸杂庆节礼参观区县岛湾龙广园阳陆马鸡鱼鸟虾听声觉热气风云雾灯坏脑脚纪满继续须决选举紧张导戏梦爱亲妈爷儿孙丽脸闹钥锁镜键盘错误谁块两万亿营挂护检齿补术险赔偿额汇债贷达迟维装讯录冇谂揾闩倾约';
const TRADITIONAL =
  '們這個時說話會來為國學對還沒麼關點開門問間見現東電車長書發經過動進實樣種應頭無與買賣錢預約號碼請謝讓認識語講邊鐘醫療診藥單費銀賬戶訂幫給從幾嗎師場圖網證辦業務處確簽貨運郵遞線聯絡華漢歡飯館樓層換轉價該難興總統員機飛寫讀記憶歲級帶樂準備訴試題驗質條優團隊協議論報紙雜慶節禮參觀區縣島灣龍廣園陽陸馬雞魚鳥蝦聽聲覺熱氣風雲霧燈壞腦腳紀滿繼續須決選舉緊張導戲夢愛親媽爺兒孫麗臉鬧鑰鎖鏡鍵盤錯誤誰塊兩萬億營掛護檢齒補術險賠償額匯債貸達遲維裝訊錄冇諗搵閂傾約';

const simplifiedOnly = new Set<string>();
const traditionalOnly = new Set<string>();
{
  const s = [...SIMPLIFIED];
  const t = [...TRADITIONAL];
  if (s.length !== t.length) throw new Error(`cantonese.ts: script tables differ in length (${s.length} vs ${t.length})`);
  for (let i = 0; i < s.length; i++) {
    if (s[i] === t[i]) continue; // same in both scripts: no evidence either way
    simplifiedOnly.add(s[i]);
    traditionalOnly.add(t[i]);
  }
  // Characters only Traditional-script writing uses, with no paired entry above.
  for (const c of '係裡裏於並') traditionalOnly.add(c);
}

// Words written in Cantonese and (almost) never in Mandarin, with a weight for how telling
// each is. Multi-character words are matched before single characters.
const CANTONESE: Array<[string, number]> = [
  ['嘅', 3], ['咗', 3], ['唔', 3], ['係', 2], ['冇', 3], ['佢', 3], ['啲', 3], ['嗰', 3], ['喺', 3],
  ['哋', 3], ['嚟', 3], ['啱', 3], ['嘢', 3], ['咩', 2], ['乜', 2], ['噉', 3], ['咁', 2], ['睇', 3],
  ['畀', 3], ['俾', 2], ['攞', 3], ['諗', 3], ['谂', 3], ['嘞', 2], ['喎', 3], ['噃', 3], ['啩', 3],
  ['囉', 2], ['咪', 1], ['㗎', 3], ['嘥', 3], ['攰', 3], ['揾', 3], ['搵', 3], ['閂', 3], ['闩', 3],
  ['瞓', 3], ['靚', 2], ['咋', 2], ['嗮', 3], ['晒', 1], ['啫', 3], ['嚿', 3], ['𠮶', 3], ['冚', 3],
  ['而家', 3], ['聽日', 3], ['听日', 3], ['琴日', 3], ['今日', 1], ['邊度', 3], ['边度', 3], ['邊個', 3],
  ['边个', 3], ['點解', 3], ['点解', 3], ['點樣', 3], ['点样', 3], ['幾多', 2], ['几多', 2], ['唔該', 3],
  ['唔该', 3], ['鍾意', 2], ['钟意', 2], ['傾偈', 3], ['倾偈', 3], ['傾吓', 3], ['倾吓', 3], ['吓', 1],
  ['泊車', 2], ['泊车', 2], ['返工', 3], ['放工', 2], ['食飯', 2], ['食饭', 2], ['飲茶', 2], ['饮茶', 2],
  ['講多', 2], ['讲多', 2], ['未收到', 1], ['呀', 0.75], ['蚊', 1], ['廣東話', 1], ['广东话', 1], ['粵語', 1], ['粤语', 1],
];
const MANDARIN: Array<[string, number]> = [
  ['们', 3], ['們', 3], ['没有', 3], ['沒有', 3], ['什么', 3], ['什麼', 3], ['怎么', 3], ['怎麼', 3],
  ['哪里', 3], ['哪裡', 3], ['哪儿', 3], ['这', 2], ['這', 2], ['那', 1], ['他', 2], ['她', 2], ['它', 2],
  ['是', 1.5], ['的', 1.5], ['不', 1], ['了', 1.5], ['在', 1], ['吧', 2], ['呢', 0.5], ['很', 2],
  ['看', 1], ['说', 1.5], ['說', 1.5], ['给', 1.5], ['給', 1.5], ['吃', 2], ['喝', 2], ['谁', 2], ['誰', 2],
  ['现在', 2], ['現在', 2], ['今天', 2], ['明天', 2], ['昨天', 2], ['东西', 1], ['東西', 1], ['喜欢', 1.5],
  ['喜歡', 1.5], ['一下', 1], ['儿', 1], ['兒', 1], ['怎', 1], ['么', 1], ['麼', 1], ['一遍', 2], ['一次吗', 1],
  ['下星期', 1], ['多少', 1], ['还没', 2], ['還沒', 2], ['跟', 1], ['能不能', 2], ['可不可以', 2], ['有没有', 2], ['有沒有', 2],
  ['普通话', 1], ['普通話', 1], ['国语', 1], ['國語', 1],
];

function weigh(text: string, table: Array<[string, number]>): number {
  // Longest entries first, and blank out what matched so "沒有" is not also counted as "有".
  let rest = text;
  let score = 0;
  for (const [word, w] of [...table].sort((a, b) => b[0].length - a[0].length)) {
    if (!rest.includes(word)) continue;
    const n = rest.split(word).length - 1;
    score += n * w;
    rest = rest.split(word).join(' ');
  }
  return score;
}

const HAN = /\p{Script=Han}/u;

export interface ChineseScriptResult {
  script?: ChineseScript;
  simplified: number;
  traditional: number;
  /** 0.5 (no evidence) … 1 (one script only). */
  confidence: number;
}

/** Which Chinese script the text is written in, from script-specific characters. */
export function chineseScript(text: string): ChineseScriptResult {
  let simplified = 0;
  let traditional = 0;
  for (const c of text) {
    if (simplifiedOnly.has(c)) simplified++;
    else if (traditionalOnly.has(c)) traditional++;
  }
  if (simplified === traditional) return { simplified, traditional, confidence: 0.5 };
  const script: ChineseScript = simplified > traditional ? 'Hans' : 'Hant';
  const hi = Math.max(simplified, traditional);
  const lo = Math.min(simplified, traditional);
  // One telling character is fair evidence; three or more is near-certain.
  const confidence = Math.min(0.99, 0.5 + 0.5 * ((hi - lo) / (hi + lo)) * Math.min(1, 0.6 + 0.15 * (hi - lo)));
  return { script, simplified, traditional, confidence };
}

export interface ChineseVarietyResult {
  variety?: ChineseVariety;
  cantonese: number;
  mandarin: number;
  /** 0.5 (no evidence) … 0.99. */
  confidence: number;
}

/** Cantonese or Mandarin, from weighted marker words; no markers → no verdict. */
export function chineseVariety(text: string): ChineseVarietyResult {
  // "可唔可以" / "可不可以" are questions, not negations: they still count as markers.
  const cantonese = weigh(text, CANTONESE);
  const mandarin = weigh(text, MANDARIN);
  if (cantonese === mandarin) return { cantonese, mandarin, confidence: 0.5 };
  const variety: ChineseVariety = cantonese > mandarin ? 'yue' : 'cmn';
  const hi = Math.max(cantonese, mandarin);
  const lo = Math.min(cantonese, mandarin);
  // Evidence = margin, tempered by how much there is: one weak marker is not a verdict.
  const confidence = Math.min(0.99, 0.5 + 0.5 * ((hi - lo) / (hi + lo + 1)) + 0.04 * Math.min(hi - lo, 5));
  return { variety, cantonese, mandarin, confidence };
}

export interface ChineseClassification {
  /** zh-HK (Cantonese, Traditional), yue-CN (Cantonese, Simplified), zh-TW or zh-CN (Mandarin). */
  locale: 'zh-HK' | 'yue-CN' | 'zh-TW' | 'zh-CN';
  variety: ChineseVariety;
  /** Undefined when no script-specific character was seen. */
  script?: ChineseScript;
  confidence: number;
  hanChars: number;
}

/**
 * Classifies Chinese text. Without markers the variety defaults to Mandarin and without
 * telling characters the script defaults by variety (Cantonese → Traditional, Mandarin →
 * Simplified), both with the low confidence that says "not enough to switch on".
 */
export function classifyChinese(text: string): ChineseClassification {
  const hanChars = [...text].filter((c) => HAN.test(c)).length;
  const v = chineseVariety(text);
  const s = chineseScript(text);
  const variety = v.variety ?? 'cmn';
  const script = s.script ?? (variety === 'yue' ? 'Hant' : 'Hans');
  const locale = variety === 'yue' ? (script === 'Hans' ? 'yue-CN' : 'zh-HK') : script === 'Hant' ? 'zh-TW' : 'zh-CN';
  // For Cantonese the script only picks the region's written form; for Mandarin it picks the
  // locale (zh-CN vs zh-TW), so its doubt counts in full.
  const scriptWeight = variety === 'yue' ? 0.3 : 1;
  const scriptDoubt = (1 - s.confidence) * scriptWeight;
  const lengthFactor = Math.min(1, 0.55 + 0.1 * hanChars);
  const confidence = Math.max(0, Math.min(0.99, v.confidence * (1 - scriptDoubt) * lengthFactor));
  return { locale, variety, script: s.script, confidence, hanChars };
}
