// The keyless "LLM": answers the caller's last message from the workflow's own FAQ with a
// lexical matcher (normalised tokens, stop words, light stemming, IDF-weighted overlap between
// the query and each phrasing of an entry; Chinese/Japanese via character unigrams + bigrams).
// A wrong answer is worse than the fallback line, so it only answers above a threshold and
// refuses when the query's polarity differs from the entry's ("I don't want to cancel").
import type { ChatMessage, LlmChunk, LlmProvider, LlmRequest } from '../kit/types.ts';
import { ProviderError } from '../kit/types.ts';
import { silentLogger, type Logger } from '../kit/log.ts';
import type { FaqItem, WorkflowScript } from '../kit/workflow-script.ts';

export interface FaqMatch {
  entry: FaqItem;
  /** 0..1: IDF-weighted F1 between the query's tokens and the best phrasing's tokens. */
  score: number;
  /** The phrasing (question or alternate) that matched best. */
  phrasing: string;
}

export type ResponseKind = 'faq' | 'goodbye' | 'greeting' | 'fallback';

export interface Response {
  kind: ResponseKind;
  text: string;
  match?: FaqMatch;
}

export interface WorkflowResponderOptions {
  /** Minimum score to answer from the FAQ (default 0.5); below it the fallback line is said. */
  threshold?: number;
  /** Pause before each streamed word, to mimic a model's pace in demos (default 0). */
  wordDelayMs?: number;
  /** Where its lines go (default: nowhere). */
  log?: Logger;
}

// ------------------------------------------------------------------ text normalisation

const STOP_WORDS = new Set(
  (
    // English
    'a an the i me my we our us you your yours he she it its they them their is are am was were be been being do does did ' +
    'have has had having to of in on at by for with from about into over as and or but if so than then there here this that ' +
    'these those what which who whom whose when where why how can could would should will shall may might must please ' +
    'just like want wanted need needed wanna get got let lets hi hello hey ok okay yes yeah well also any some thing things ' +
    'know tell say ask guys really very much many one somewhere anywhere something anything' +
    // Spanish
    ' el la los las un una unos unas de del al y o u en con por para que se su sus mi mis tu tus es son esta estan ' +
    'esta este estos como cual cuales cuando donde quien me te le lo nos les yo usted ustedes hay ser estar hola favor ' +
    'quiero quisiera queria puedo puede podria gustaria'
  ).split(/\s+/),
);
// "much" carries the "how much" = price intent, so it is kept and folded into "cost" below.
STOP_WORDS.delete('much');

/** Words that flip a sentence's meaning; matched on polarity rather than as content. */
const NEGATIONS = new Set(['not', 'no', 'never', 'dont', 'doesnt', 'didnt', 'wont', 'cant', 'cannot', 'isnt', 'arent', 'nothing', 'nunca', 'tampoco', 'nada']);
const CJK_NEGATIONS = /[唔不冇沒没未別别]/;
const CJK_STOP_CHARS = new Set([...'你我佢哋嘅係咗啲呢嗎嘛呀啊吖喇嚟的了是在嗎吗呢吧和與与也都就要想請请問问一個个']);

/** Common phone-agent synonyms folded onto one token (applied after stemming). */
const SYNONYMS: Record<string, string> = {
  kid: 'child', kids: 'child', children: 'child', childr: 'child', son: 'child', daughter: 'child',
  much: 'cost', price: 'cost', pric: 'cost', charge: 'cost', fee: 'cost', expensive: 'cost',
  booking: 'appointment', appt: 'appointment', visit: 'appointment',
  schedule: 'book', make: 'book', reserve: 'book',
  hour: 'hours', time: 'hours',
  address: 'locat', location: 'locat', where: 'locat',
  person: 'human', someone: 'human', agent: 'human', representative: 'human', operator: 'human', receptionist: 'human',
  week: 'weekday',
  // Spanish folds onto Spanish words, so languages never meet on a shared canonical token.
  precio: 'costo', cuesta: 'costo', cuanto: 'costo',
  pedir: 'reservar', hacer: 'reservar', agendar: 'reservar', programar: 'reservar',
  direccion: 'donde', ubicado: 'donde', ubicacion: 'donde', encuentra: 'donde',
  hora: 'horario',
};
// "where" is a stop word in general but strongly marks location questions.
STOP_WORDS.delete('where');
STOP_WORDS.delete('donde');

const CONTRACTIONS: [RegExp, string][] = [
  [/\b(\w+)n't\b/g, '$1 not'],
  [/\bcan't\b/g, 'can not'],
  [/\bwon't\b/g, 'will not'],
  [/\b(\w+)'(s|re|ve|ll|d|m)\b/g, '$1'],
];

function stem(w: string): string {
  if (w.length > 5 && w.endsWith('ing')) return w.slice(0, -3);
  if (w.length > 4 && w.endsWith('ies')) return w.slice(0, -3) + 'y';
  if (w.length > 4 && w.endsWith('ed')) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us')) return w.slice(0, -1);
  return w;
}

const CJK_RUN = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+/g;

export interface Tokens {
  /** Content tokens (a multiset is not needed: each counts once). */
  terms: Set<string>;
  negated: boolean;
}

/** Normalises and tokenises one utterance (exported for tests and the bench). */
export function tokenize(text: string): Tokens {
  const terms = new Set<string>();
  let negated = false;
  const lower = text.normalize('NFKC').toLowerCase().replace(/[’`´]/g, "'");
  // CJK: unigrams (minus particles) and bigrams, since words are not space-separated.
  for (const run of lower.match(CJK_RUN) ?? []) {
    if (CJK_NEGATIONS.test(run)) negated = true;
    const chars = [...run];
    for (let i = 0; i < chars.length; i++) {
      if (!CJK_STOP_CHARS.has(chars[i])) terms.add(chars[i]);
      if (i + 1 < chars.length) terms.add(chars[i] + chars[i + 1]);
    }
  }
  let latin = lower.replace(CJK_RUN, ' ');
  for (const [re, to] of CONTRACTIONS) latin = latin.replace(re, to);
  latin = latin.normalize('NFKD').replace(/[\u0300-\u036f]/g, ''); // fold accents: dónde → donde
  for (const raw of latin.split(/[^a-z0-9]+/)) {
    if (!raw) continue;
    const w = raw.replace(/'/g, '');
    if (NEGATIONS.has(w)) {
      negated = true;
      continue;
    }
    if (STOP_WORDS.has(w)) continue;
    const s = stem(w);
    terms.add(SYNONYMS[w] ?? SYNONYMS[s] ?? s);
  }
  return { terms, negated };
}

function baseLanguage(tag: string): string {
  const b = tag.trim().toLowerCase().split(/[-_]/)[0];
  return b === 'yue' || b === 'cmn' ? 'zh' : b;
}

// ------------------------------------------------------------------ intents

const GOODBYE = /^(?:(?:ok(?:ay)?|alright|great|perfect|no|nope|thanks?|thank you(?: (?:so|very) much)?|that'?s (?:all|it|everything)|nothing else|i'?m (?:done|good)|adi[oó]s|gracias|hasta luego|eso es todo|chao|bye(?:[- ]bye)?|good ?bye|see you|have a (?:good|nice) (?:day|one))[\s,.!]*)*(?:bye(?:[- ]bye)?|good ?bye|adi[oó]s|hasta luego|chao|see you(?: later)?|that'?s all|that'?s it|nothing else|eso es todo)[\s,.!]*(?:thanks?|thank you|gracias)?[\s,.!]*$/i;
const GOODBYE_CJK = /^[\s，。！]*(?:唔該|多謝|谢谢|謝謝|好)?[\s，。！]*(?:拜拜|再見|再见|bye)[\s，。！]*(?:唔該|多謝|谢谢|謝謝)?[\s，。！]*$/i;
const GREETING = /^(?:hi|hello|hey|hola|buenas|good (?:morning|afternoon|evening)|buenos d[ií]as|buenas tardes|喂|你好|您好|哈囉)(?:\s+there)?[\s,.!？?。！]*$/i;

export class WorkflowResponder implements LlmProvider {
  readonly name = 'workflow';
  private readonly threshold: number;
  private readonly wordDelayMs: number;
  /** Per entry: its phrasings' tokens. */
  private readonly index: { entry: FaqItem; lang: string; phrasings: { text: string; tokens: Tokens }[] }[];
  /** Inverse document frequency per term, per base language (entries are the documents). */
  private readonly idf = new Map<string, Map<string, number>>();
  private readonly languages: Set<string>;
  /** Every term any phrasing of an entry uses. */
  private readonly vocab = new Map<FaqItem, Set<string>>();
  private readonly log: Logger;

  constructor(
    readonly workflow: WorkflowScript,
    options: WorkflowResponderOptions = {},
  ) {
    if (!workflow || !Array.isArray(workflow.faq)) throw new TypeError('WorkflowResponder: expected a workflow script with a faq array');
    this.threshold = options.threshold ?? 0.5;
    if (!(this.threshold > 0 && this.threshold <= 1)) throw new RangeError(`WorkflowResponder: threshold must be in (0, 1], got ${options.threshold}`);
    this.wordDelayMs = Math.max(0, options.wordDelayMs ?? 0);
    this.log = (options.log ?? silentLogger).child({ component: 'workflow-responder' });
    this.index = workflow.faq.map((entry) => ({
      entry,
      lang: baseLanguage(entry.language),
      phrasings: [entry.question, ...entry.alternates].map((text) => ({ text, tokens: tokenize(text) })),
    }));
    this.languages = new Set(this.index.map((e) => e.lang));
    const df = new Map<string, Map<string, number>>();
    const docs = new Map<string, number>();
    for (const e of this.index) {
      docs.set(e.lang, (docs.get(e.lang) ?? 0) + 1);
      const m = df.get(e.lang) ?? new Map<string, number>();
      df.set(e.lang, m);
      const seen = new Set<string>();
      for (const p of e.phrasings) for (const t of p.tokens.terms) seen.add(t);
      this.vocab.set(e.entry, seen);
      for (const t of seen) m.set(t, (m.get(t) ?? 0) + 1);
    }
    for (const [lang, m] of df) {
      const n = docs.get(lang)!;
      const idf = new Map<string, number>();
      for (const [t, c] of m) idf.set(t, Math.log(1 + (n + 1) / c)); // smoothed, always > 0
      this.idf.set(lang, idf);
    }
  }

  private weight(lang: string, term: string): number {
    const idf = this.idf.get(lang);
    const n = this.index.length;
    // A term the FAQ never uses (e.g. "root canal") weighs like the rarest term: it is what
    // tells an unknown question apart from a known one.
    return idf?.get(term) ?? Math.log(1 + (n + 1) / 0.5);
  }

  /** Best FAQ entry for `text` in `language`, or null when nothing clears the threshold. */
  match(text: string, language: string = this.workflow.language): FaqMatch | null {
    const best = this.bestCandidate(text, language);
    return best && best.score >= this.threshold ? best : null;
  }

  /** Best candidate regardless of threshold (for tuning and diagnostics). */
  bestCandidate(text: string, language: string = this.workflow.language): FaqMatch | null {
    if (typeof text !== 'string' || !text.trim()) return null;
    const q = tokenize(text);
    if (q.terms.size === 0) return null;
    let lang = baseLanguage(language);
    // A workflow with no entries in this language still answers (STT may mislabel); one that
    // has them keeps languages apart, like the cache's language partition.
    const pool = this.languages.has(lang) ? this.index.filter((e) => e.lang === lang) : this.index;
    let best: FaqMatch | null = null;
    for (const e of pool) {
      lang = e.lang;
      // A query term that belongs to other entries but not this one is an entity swap ("cancel my
      // insurance" vs "cancel my appointment"): it counts double against recall.
      const own = this.vocab.get(e.entry)!;
      const known = this.idf.get(lang);
      let qWeight = 0;
      for (const t of q.terms) qWeight += this.weight(lang, t) * (known?.has(t) && !own.has(t) ? 2 : 1);
      for (const p of e.phrasings) {
        let pWeight = 0;
        let shared = 0;
        for (const t of p.tokens.terms) {
          const w = this.weight(lang, t);
          pWeight += w;
          if (q.terms.has(t)) shared += w;
        }
        if (shared === 0) continue;
        const precision = shared / pWeight;
        const recall = shared / qWeight;
        let score = (2 * precision * recall) / (precision + recall);
        if (p.tokens.negated !== q.negated) score *= 0.3; // "don't cancel" is not "cancel"
        if (!best || score > best.score) best = { entry: e.entry, score, phrasing: p.text };
      }
    }
    return best;
  }

  /** The whole answer for one utterance, with why it was chosen. */
  respond(text: string, language: string = this.workflow.language): Response {
    const t = (text ?? '').trim();
    if (t && (GOODBYE.test(t) || GOODBYE_CJK.test(t))) return { kind: 'goodbye', text: this.workflow.line('goodbye', language) };
    if (t && GREETING.test(t)) return { kind: 'greeting', text: this.workflow.line('greeting', language) };
    const m = this.match(t, language);
    if (m) return { kind: 'faq', text: m.entry.answer, match: m };
    return { kind: 'fallback', text: this.workflow.line('fallback', language) };
  }

  /**
   * Streams the answer to the last user message word by word (whitespace kept with each word,
   * so the chunks concatenate to the exact answer). Only FAQ answers are marked cacheable.
   * On abort it stops and throws ProviderError kind 'aborted'.
   */
  async *stream(req: LlmRequest): AsyncGenerator<LlmChunk, void, undefined> {
    const { signal } = req;
    if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted before start');
    if (!Array.isArray(req.messages)) throw new ProviderError(this.name, 'bad_request', 'messages must be an array');
    const last = [...req.messages].reverse().find((m: ChatMessage) => m.role === 'user');
    const language = req.ctx?.language || this.workflow.language;
    const r = last ? this.respond(last.content, language) : { kind: 'greeting' as const, text: this.workflow.line('greeting', language) };
    this.log.debug({ callId: req.ctx?.callId, kind: r.kind, entry: r.match?.entry.id, score: r.match?.score }, 'responded');
    const cacheable = r.kind === 'faq';
    const words = r.text.match(/\S+\s*/g) ?? [];
    for (const [i, word] of words.entries()) {
      if (this.wordDelayMs > 0) await abortableDelay(this.wordDelayMs, signal);
      else await Promise.resolve(); // stay asynchronous like a network stream
      if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted while streaming');
      // A goodbye ends the call once it has played.
      yield r.kind === 'goodbye' && i === words.length - 1 ? { text: word, cacheable, endCall: true } : { text: word, cacheable };
    }
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve(); // the caller checks signal.aborted
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
