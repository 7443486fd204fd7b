// Scores the cache on labelled queries: FAQ entries are pre-warmed as a workflow would be, each
// query is looked up in its language's partition, and every outcome is classified. `expect` is
// the entry id a correct cache answers with, or null where any cached answer would be wrong.
import { z } from 'zod';
import type { EmbeddingProvider } from '../../adapters/kit/types.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { FaqEntrySchema, parseWorkflow } from '../workflow.ts';
import { prewarmFaq } from '../faq-prewarm.ts';
import { partitionLanguage } from '../../adapters/kit/normalise.ts';
import { FAQ_STATE, faqEntryId } from './cache-key.ts';
import { ResponseCache } from './response-cache.ts';

export const EvalQuerySchema = z.object({
  text: z.string(),
  language: z.string().min(2),
  expect: z.string().nullable(),
});
export type EvalQuery = z.infer<typeof EvalQuerySchema>;

export const FaqFileSchema = z.object({
  workflow: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  entries: z.array(FaqEntrySchema).min(1),
  queries: z.array(EvalQuerySchema).optional(),
});
export const QueriesFileSchema = z.object({ queries: z.array(EvalQuerySchema) });

export interface EvalOutcome {
  text: string;
  language: string;
  expect: string | null;
  got: string | null;
  tier?: 'exact' | 'semantic';
  similarity?: number;
  /** hit: the expected entry; wrong: any other answer; miss: nothing where one was expected. */
  outcome: 'hit' | 'wrong' | 'miss' | 'correct-miss';
  /** On a miss: the nearest candidate the guard refused, and why (absent when nothing came near). */
  rejected?: { entry: string; reason: string; similarity: number };
}

/** One slice of the queries (a language partition, or all of them). */
export interface EvalTally {
  queries: number;
  /** Queries whose expect names an entry. */
  expecting: number;
  /** Hits of any kind among the expecting queries, divided by expecting. */
  hitRate: number;
  /** Right answers among the expecting queries, divided by expecting. */
  correctHitRate: number;
  /** Every answer served (any query). */
  hits: number;
  wrongHits: number;
  /** Wrong answers among all hits. */
  wrongAnswerRate: number;
  /** Per outcome; misses are split by the guard's reason when it refused a candidate ("miss" alone: nothing came near). */
  byOutcome: Record<string, number>;
}

export interface EvalReport extends EvalTally {
  backend: string;
  threshold: number;
  entries: number;
  correctMisses: number;
  guardRejections: number;
  guardReasons: Record<string, number>;
  lookupMs: { p50: number; p95: number; p99: number };
  /** Per language partition: en, es, yue (Cantonese: zh-HK, yue), zh (Mandarin: zh-CN, zh-TW), … */
  byLanguage: Record<string, EvalTally>;
  outcomes: EvalOutcome[];
}

function parse<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(`${what}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** A workflow file ({ id, faq }) is read as an FAQ file with its id as the workflow. */
function asFaqFile(raw: unknown): unknown {
  const w = raw as { id?: unknown; faq?: unknown; entries?: unknown; workflow?: unknown } | null;
  if (w && typeof w === 'object' && w.entries === undefined && w.workflow === undefined && Array.isArray(w.faq)) return { workflow: w.id, entries: w.faq };
  return raw;
}

export async function evaluateFaq(
  faqRaw: unknown,
  queriesRaw: unknown | undefined,
  cfg: Config,
  opts: { embedder?: EmbeddingProvider; log?: Logger } = {},
): Promise<EvalReport> {
  const faq = parse(FaqFileSchema, asFaqFile(faqRaw), 'FAQ file');
  const queries = queriesRaw === undefined ? faq.queries : parse(QueriesFileSchema, queriesRaw, 'queries file').queries;
  if (!queries || queries.length === 0) throw new Error('no queries: the FAQ file has no "queries" and no --queries file was given');
  const wf = parseWorkflow({ id: faq.workflow, faq: faq.entries }, 'FAQ file');
  const cache = await ResponseCache.create(cfg, { ...opts, persist: false });
  try {
    await prewarmFaq(cache, wf, {}, undefined, opts.log?.child({ component: 'cache' }));
    const idToFaq = new Map(wf.faq.map((f) => [faqEntryId(wf.id, f.id, ''), f.id]));
    const outcomes: EvalOutcome[] = [];
    for (const q of queries) {
      const { hit, rejected } = await cache.explain({ workflow: wf.id, state: FAQ_STATE, language: q.language, voice: '' }, q.text);
      const got = hit ? (idToFaq.get(hit.entryId) ?? hit.entryId) : null;
      const outcome: EvalOutcome['outcome'] = hit ? (got === q.expect ? 'hit' : 'wrong') : q.expect === null ? 'correct-miss' : 'miss';
      const o: EvalOutcome = { text: q.text, language: q.language, expect: q.expect, got, ...(hit ? { tier: hit.tier, similarity: round(hit.similarity) } : {}), outcome };
      const r = !hit ? rejected[0] : undefined;
      if (r) o.rejected = { entry: idToFaq.get(r.entryId) ?? r.entryId, reason: r.reason, similarity: round(r.similarity) };
      outcomes.push(o);
    }
    const byLanguage: Record<string, EvalTally> = {};
    for (const lang of [...new Set(outcomes.map((o) => partitionLanguage(o.language)))].sort()) {
      byLanguage[lang] = tally(outcomes.filter((o) => partitionLanguage(o.language) === lang));
    }
    const s = cache.stats();
    return {
      backend: s.backend,
      threshold: s.threshold,
      entries: wf.faq.length,
      ...tally(outcomes),
      correctMisses: outcomes.filter((o) => o.outcome === 'correct-miss').length,
      guardRejections: s.guardRejections,
      guardReasons: s.guardReasons as Record<string, number>,
      lookupMs: { p50: round(s.lookupMs.p50), p95: round(s.lookupMs.p95), p99: round(s.lookupMs.p99) },
      byLanguage,
      outcomes,
    };
  } finally {
    await cache.close();
  }
}

/** Rates and outcome counts over some queries. */
export function tally(outcomes: EvalOutcome[]): EvalTally {
  const expecting = outcomes.filter((o) => o.expect !== null);
  const hits = outcomes.filter((o) => o.got !== null);
  const wrong = hits.filter((o) => o.outcome === 'wrong');
  const counts: Record<string, number> = { hit: 0, wrong: 0, 'correct-miss': 0, miss: 0 };
  for (const o of outcomes) {
    const k = o.rejected ? `${o.outcome}:guard-${o.rejected.reason}` : o.outcome;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return {
    queries: outcomes.length,
    expecting: expecting.length,
    hitRate: round(expecting.filter((o) => o.got !== null).length / Math.max(1, expecting.length)),
    correctHitRate: round(expecting.filter((o) => o.outcome === 'hit').length / Math.max(1, expecting.length)),
    hits: hits.length,
    wrongHits: wrong.length,
    wrongAnswerRate: round(wrong.length / Math.max(1, hits.length)),
    byOutcome: counts,
  };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
