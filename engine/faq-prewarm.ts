// Fills the response cache with a workflow's FAQ before the first call, so those questions are
// answered (and, in media mode, spoken) at once. It lives beside the workflows rather than in
// engine/cache: the cache knows questions and answers, this knows workflows and their voices.
// It uses only the cache's public API.
import { normaliseText, partitionLanguage } from '../adapters/kit/normalise.ts';
import { FAQ_STATE, faqEntryId, type CacheKey } from './cache/cache-key.ts';
import { MAX_PHRASES_PER_ENTRY } from './cache/partitioned-index.ts';
import type { CacheEntryInfo, CachePut } from './cache/response-cache.ts';
import { log as rootLog, type Logger } from './log.ts';
import type { FaqEntry, Workflow } from './workflow.ts';

/** The parts of ResponseCache pre-warm uses. */
export interface FaqCache {
  putMany(items: CachePut[]): Promise<string[]>;
  removeWhere(match: (e: CacheEntryInfo) => boolean): Promise<number>;
  has(entryId: string): boolean;
  hasAudio(entryId: string, voice: string): boolean;
  attachAudio(entryId: string, voice: string, ulaw: Uint8Array): void;
}

/** Full synthesis of one answer as 8 kHz μ-law, for a cache voice key and a locale. */
export type SynthesizeAnswer = (text: string, voice: string, language: string) => Promise<Uint8Array>;

/**
 * Stores a workflow's FAQ entries (question, alternates and examples) in state FAQ_STATE, once per
 * configured voice whose locale is in the entry's language partition (voice '' when none is),
 * drops FAQ entries the workflow no longer has, and pre-synthesises missing audio. Audio that
 * is already stored is kept, so a workflow reload does not synthesise again.
 */
export async function prewarmFaq(
  cache: FaqCache,
  workflow: Workflow,
  voicesByLanguage: Record<string, string>,
  synth?: SynthesizeAnswer,
  log: Logger = rootLog.child({ component: 'cache' }),
): Promise<{ entries: number; audio: number }> {
  const items: CachePut[] = [];
  const targets: Array<{ id: string; voice: string; locale: string; answer: string }> = [];
  for (const f of workflow.faq) {
    const lang = partitionLanguage(f.language);
    let voices = Object.entries(voicesByLanguage).filter(([loc]) => partitionLanguage(loc) === lang);
    if (voices.length === 0) voices = [[f.language, '']];
    for (const [locale, voice] of voices) {
      const id = faqEntryId(workflow.id, f.id, voice);
      const key: CacheKey = { workflow: workflow.id, state: FAQ_STATE, language: f.language, voice };
      const questions = faqQuestions(f);
      if (questions.length === 0) {
        log.warn({ workflow: workflow.id, faq: f.id }, 'cache: FAQ entry has no usable question; skipped');
        continue;
      }
      for (const q of questions) items.push({ key, query: q, answer: f.answer, source: 'faq', entryId: id });
      targets.push({ id, voice, locale, answer: f.answer });
    }
  }
  const keep = new Set(targets.map((t) => t.id));
  await cache.removeWhere((e) => e.source === 'faq' && e.key.workflow === workflow.id && !keep.has(e.id));
  await cache.putMany(items);
  let audio = 0;
  for (const t of targets) {
    if (!cache.has(t.id)) continue;
    if (cache.hasAudio(t.id, t.voice)) {
      audio++;
      continue;
    }
    if (!synth || !t.voice) continue;
    try {
      cache.attachAudio(t.id, t.voice, await synth(t.answer, t.voice, t.locale));
      if (cache.hasAudio(t.id, t.voice)) audio++;
    } catch (err) {
      log.warn({ entryId: t.id, voice: t.voice, err: (err as Error).message }, 'cache: pre-synthesis failed; the entry will be spoken live');
    }
  }
  log.info({ workflow: workflow.id, entries: targets.length, audio }, 'cache: workflow FAQ pre-warmed');
  return { entries: targets.length, audio };
}

/**
 * An entry's phrasings, question first: alternates and examples, each normalised form once (two
 * spellings of one question would take two of the entry's phrase slots for nothing).
 */
export function faqQuestions(f: Pick<FaqEntry, 'question' | 'alternates' | 'examples'>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const q of [f.question, ...(f.alternates ?? []), ...(f.examples ?? [])]) {
    const norm = normaliseText(q);
    if (!norm || seen.has(norm)) continue;
    seen.add(norm);
    out.push(q);
  }
  return out.slice(0, MAX_PHRASES_PER_ENTRY);
}
