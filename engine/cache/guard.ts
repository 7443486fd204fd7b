// The near-miss guard. Embeddings put "I don't want to cancel" next to "I want to cancel" and
// "Saturday" next to "Sunday"; serving the neighbour's answer would be wrong, and a wrong cached
// answer is worse than a miss. So a semantic candidate must also agree with the query on
// general, checkable facts: script and language, negation polarity, numbers, calendar/time
// entities, and it must not be the same question with one content word swapped for another.
import { ALL_FUNCTION_WORDS, dominantScript, functionWords, normaliseText, readQuestion, words } from '../../adapters/kit/normalise.ts';
import { CONCEPTS, FUNCTION_WORDS, type ConceptKind } from '../../adapters/kit/lexicon.ts';

export { parseCjkNumber } from '../../adapters/kit/normalise.ts';

const LATIN_LANGUAGES = Object.keys(FUNCTION_WORDS);
const CONCEPT_KIND = new Map(CONCEPTS.map((c) => [`k:${c.id}`, c.kind ?? null]));

/**
 * An entry that asks for a booking in general (it speaks of appointments or booking and of no
 * business fact such as price or hours): what is booked and when are the booking's details,
 * which its answer asks for ("Sure, what day works best?"), not another question.
 */
function isBookingEntry(coverage: Set<string>): boolean {
  if (!coverage.has('k:book') && !coverage.has('k:appointment')) return false;
  for (const w of coverage) if (CONCEPT_KIND.get(w) === 'aspect') return false;
  return true;
}

export interface TextFeatures {
  norm: string;
  script: 'latin' | 'cjk' | 'other' | 'none';
  /** Latin-script language guessed from function words, or null when unsure. */
  lang: string | null;
  negations: number;
  numbers: string[];
  entities: string[];
  /** Content units: lexicon concepts ("k:park"), other word stems, other CJK characters ("c:牙"). */
  content: Set<string>;
  /** Content units under a negator; "∅" for a negator with nothing after it ("no thanks"). */
  negated: Set<string>;
  /** The kind of each content unit that names a thing, an action, a person… (lexicon.ts CONCEPTS). */
  kinds: Map<string, ConceptKind>;
  /** Unknown words that sound like a lexicon concept ("council" → k:cancel), with its kind. */
  heard: Map<string, { key: string; kind: ConceptKind | null }>;
}

/**
 * Why a candidate was refused: script or language differs; negation differs; numbers or
 * calendar/time entities differ; `entity`: a thing of the same kind swapped (crown for cleaning,
 * adults for children, hospital for clinic); `intent`: another action (cancel for book), or none
 * where the entry has one; `topic`: the query asks about something the entry never mentions (it
 * only shares the topic); `content-swap`: one word swapped for another, both unknown to the lexicon.
 */
export type GuardReason = 'script' | 'language' | 'negation' | 'number' | 'entity' | 'intent' | 'topic' | 'content-swap';

export interface GuardVerdict {
  ok: boolean;
  reason?: GuardReason;
  /** True when query and entry share at least one content unit (a lexical anchor). */
  anchored: boolean;
}

/** Reads the features the guard compares. `text` may be raw or already normalised. */
export function analyse(text: string): TextFeatures {
  const norm = normaliseText(text);
  const lang = guessLatinLanguage(words(norm));
  const r = readQuestion(norm);
  const content = new Set<string>();
  const negated = new Set<string>();
  const kinds = new Map<string, ConceptKind>();
  const heard = new Map<string, { key: string; kind: ConceptKind | null }>();
  for (const u of r.units) {
    if (u.fn) continue;
    content.add(u.key);
    if (u.negated) negated.add(u.key);
    if (u.kind) kinds.set(u.key, u.kind);
    if (u.heard) heard.set(u.key, u.heard);
  }
  // A negator that reached no content ("no thanks", "我唔要") still refuses.
  if (r.negations > 0 && negated.size === 0) negated.add('∅');
  return { norm, script: dominantScript(norm), lang, negations: r.negations, numbers: r.numbers, entities: r.entities, content, negated, kinds, heard };
}

/**
 * The query with each misheard word read as the concept it sounds like, where the entry speaks
 * of that concept ("council my appointment" against a cancel entry) or the concept is of a kind
 * the guard compares (then it counts against an entry that never mentions it: "emergence" is
 * not a booking). Otherwise the word stays an unknown word.
 */
function resolveHeard(q: TextFeatures, coverage: Set<string>): TextFeatures {
  if (q.heard.size === 0) return q;
  const map = (w: string) => {
    const h = q.heard.get(w);
    return h && (coverage.has(h.key) || h.kind) ? h.key : w;
  };
  const kinds = new Map(q.kinds);
  for (const [w, h] of q.heard) if (map(w) !== w && h.kind) kinds.set(h.key, h.kind);
  return { ...q, content: new Set([...q.content].map(map)), negated: new Set([...q.negated].map(map)), kinds };
}

/** What an entry's phrasings mention between them: a query may use any of its words. */
export function coverageOf(phrases: Iterable<TextFeatures>): Set<string> {
  const out = new Set<string>();
  for (const f of phrases) for (const w of f.content) out.add(w);
  return out;
}

/**
 * Whether a semantic candidate (one stored phrasing's features) may answer the query.
 * `coverage` is every content unit of the candidate's entry (all its phrasings); it defaults to
 * the phrasing's own. A query unit the entry never mentions is a new topic: refused when it
 * names a thing, a person, a place or an action, or when more than one such word is new (one
 * stray word among two or more shared ones is tolerated: a filler, an ASR slip).
 */
export function guard(heardQuery: TextFeatures, entry: TextFeatures, coverage: Set<string> = entry.content): GuardVerdict {
  const query = resolveHeard(heardQuery, coverage);
  const covered = [...query.content].filter((w) => hasWord(coverage, w));
  // The same named day or time is an anchor too ("so, sunday, is anybody there on sunday").
  const anchored = covered.length > 0 || (query.entities.length > 0 && sameList(query.entities, entry.entities));
  const reject = (reason: GuardReason): GuardVerdict => ({ ok: false, reason, anchored });
  if (query.script !== 'none' && entry.script !== 'none' && query.script !== entry.script) return reject('script');
  if (query.lang && entry.lang && query.lang !== entry.lang) return reject('language');
  if (contradicts(query, entry) || contradicts(entry, query)) return reject('negation');
  if (!sameList(query.numbers, entry.numbers)) return reject('number');
  const booking = isBookingEntry(coverage);
  if (!sameCalendar(query.entities, entry, booking, coverage)) return reject('entity');

  // What is booked is the booking's detail ("book a cleaning"), but does not stand in for the booking.
  const booked = (w: string) => booking && query.kinds.get(w) === 'service';
  const novel = [...query.content].filter((w) => !hasWord(coverage, w) && !booked(w));
  if (booking && covered.length === 0 && [...query.content].some(booked)) return reject('topic');
  const kindsOf = (f: TextFeatures, kind: ConceptKind) => [...f.kinds].filter(([, k]) => k === kind).map(([w]) => w);
  for (const w of novel) {
    const kind = query.kinds.get(w);
    if (!kind || kind === 'modifier') continue;
    if (kind === 'action') return reject('intent');
    if (kind === 'aspect') return reject('topic'); // asks something else about the business
    // The entry speaks of another thing of this kind: a swap; of none: another topic.
    return reject(kindsOf(entry, kind).some((x) => !query.content.has(x)) ? 'entity' : 'topic');
  }
  // What the stored phrasing is about must be in the query too ("how much?" is not "how much is a cleaning?").
  for (const kind of new Set(entry.kinds.values())) {
    if (kind !== 'modifier' && kindsOf(query, kind).length === 0) return reject(kind === 'action' ? 'intent' : 'topic');
  }
  // Other new words: one word the lexicon does not know, among two shared ones, is tolerated (a
  // filler, an ASR slip); more, or with less in common, is another question ("where can I leave
  // my car" is not "where are you"). A word the lexicon knows (an untyped concept) is no slip:
  // new to the entry, it is another topic ("car insurance" is not "dental insurance").
  const unknown = novel.filter((w) => query.kinds.get(w) !== 'modifier');
  // The same named day or time counts as one shared unit ("any chance you're open Saturdays").
  const shared = covered.length + (query.entities.length > 0 && entry.entities.length > 0 ? 1 : 0);
  if (unknown.length > 0) {
    const missing = [...entry.content].filter((w) => !hasWord(query.content, w));
    if (anchored && missing.length > 0 && shared < 2) return reject('content-swap');
    if (unknownWords(query, unknown) * 2 > shared || shared < 2 || unknown.some((w) => w.startsWith('k:'))) return reject('topic');
  }
  // Modifiers ("nearby", "dental", "the clinic") may be added to a question that shares something,
  // but not in place of what the phrasing is about: "换个牙医" (another dentist) is not "改期".
  const modifiers = novel.length - unknown.length;
  if (modifiers > 2 || (modifiers > 0 && !anchored)) return reject('topic');
  if (modifiers > 0 && covered.length < 2) {
    const onlyAction = covered.every((w) => query.kinds.get(w) === 'action');
    if (onlyAction || [...entry.content].some((w) => !entry.kinds.has(w) && !hasWord(query.content, w))) return reject('content-swap');
  }
  return { ok: true, anchored };
}

const WORDS_ZH = new Intl.Segmenter('zh', { granularity: 'word' });
// ICU loads its CJK dictionary on the first segmentation (≈ 5 ms): at start, not in a lookup.
void [...WORDS_ZH.segment('预约')];
const cjkWords = new WeakMap<TextFeatures, Array<{ segment: string }>>();

/**
 * How many words the unknown units make: a Latin unit is a word; unknown CJK characters count
 * once per word of the question (ICU's dictionary word breaks), so an unknown two-character
 * word ("公司", "地方") is one stray word, not two.
 */
function unknownWords(query: TextFeatures, unknown: string[]): number {
  const chars = unknown.filter((w) => w.startsWith('c:')).map((w) => w.slice(2));
  if (chars.length < 2) return unknown.length;
  let segs = cjkWords.get(query);
  if (!segs) {
    segs = [...WORDS_ZH.segment(query.norm)].filter((s) => s.isWordLike);
    cjkWords.set(query, segs);
  }
  const hit = new Set<number>();
  let unplaced = 0;
  for (const c of chars) {
    const i = segs.findIndex((s) => s.segment.includes(c));
    if (i < 0) unplaced++;
    else hit.add(i);
  }
  return unknown.length - chars.length + hit.size + unplaced;
}

/** Equal units, or one a prefix (≥ 4 letters) of the other: "whiten"/"whitening" after stemming. */
function hasWord(set: Set<string>, w: string): boolean {
  if (set.has(w)) return true;
  if (w.length < 4 || w.startsWith('k:') || w.startsWith('c:')) return false;
  for (const x of set) if (x.length >= 4 && !x.startsWith('k:') && !x.startsWith('c:') && (x.startsWith(w) || w.startsWith(x))) return true;
  return false;
}

const WEEKDAYS = new Set(['day:mon', 'day:tue', 'day:wed', 'day:thu', 'day:fri']);
const RELATIVE_DAYS = new Set(['day:today', 'day:tomorrow']);
const RELATIVE_CALENDAR = new Set([...RELATIVE_DAYS, 'week:relative', 'time:morning', 'time:noon', 'time:afternoon', 'time:evening']);

/**
 * Whether the query names the calendar facts the entry does. A weekday is one of the entry's
 * "weekdays" (its hours are the weekday hours); "tomorrow, Wednesday" names one day, not two; and
 * a request to cancel or move a booking answers whatever day the booking is on (the entry names
 * none, and its answer asks for the booking, not the day).
 */
function sameCalendar(query: string[], entry: TextFeatures, booking: boolean, coverage: Set<string>): boolean {
  let q = query;
  const hours = coverage.has('k:hours');
  // Today or tonight beside a question about something that has no day (a toothache, a price)
  // says when, not which answer; a question about the hours names its day.
  if (!hours && entry.entities.length === 0 && q.every((x) => RELATIVE_CALENDAR.has(x))) return true;
  if (q.some((x) => x.startsWith('day:') && !RELATIVE_DAYS.has(x))) q = q.filter((x) => !RELATIVE_DAYS.has(x));
  if (entry.entities.includes('day:weekdays')) q = [...new Set(q.map((x) => (WEEKDAYS.has(x) ? 'day:weekdays' : x)))].sort();
  if (entry.entities.length === 0 && [...entry.kinds.values()].includes('action')) return true;
  // A booking for tomorrow or next week is a booking; a named weekday may ask whether it is open.
  if (booking && entry.entities.length === 0 && q.every((x) => RELATIVE_CALENDAR.has(x))) return true;
  return sameList(q, entry.entities);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * One side negates and the other does not, or one negates a word the other does not negate:
 * "I didn't say I want to cancel" (negates "say") is not "I can't come, I want to cancel"
 * (negates "come"), although both hold a negation. A negator that reached no word ("no
 * thanks": ∅) only needs the other side to refuse something too.
 */
function contradicts(a: TextFeatures, b: TextFeatures): boolean {
  if (a.negated.size > 0 !== b.negated.size > 0) return true;
  for (const w of a.negated) if (w !== '∅' && !b.negated.has(w)) return true;
  return false;
}

/** Guesses the language of Latin-script text from its function words; null when unsure. */
export function guessLatinLanguage(toks: string[]): string | null {
  const scores: Array<[string, number]> = LATIN_LANGUAGES.map((lang) => [lang, toks.filter((t) => functionWords(lang)!.has(t)).length]);
  scores.sort((a, b) => b[1] - a[1]);
  const [best, second] = scores;
  if (!best || best[1] < 2 || (second && best[1] - second[1] < 2)) return null;
  return best[0];
}
