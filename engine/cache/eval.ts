// `npm run cache:eval -- --faq FILE [--queries FILE] [--backend NAME] [--threshold X] [--questions-only] [--summary | --table]`
// Pre-warms the FAQ file's entries (or a workflow file's FAQ), scores the queries (the file's own,
// or a separate file with a `queries` array of the same shape) and prints the report as JSON on
// stdout: overall, per language partition and per outcome. --table prints a Markdown table instead.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.ts';
import { evaluateFaq, type EvalReport, type EvalTally } from './evaluate.ts';
import { stderrLog } from '../log.ts';

const USAGE = 'usage: npm run cache:eval -- --faq FILE [--queries FILE] [--backend auto|hashing|transformers|openai] [--threshold 0..1] [--questions-only] [--summary | --table]';

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      faq: { type: 'string' },
      queries: { type: 'string' },
      backend: { type: 'string' },
      threshold: { type: 'string' },
      summary: { type: 'boolean', default: false },
      table: { type: 'boolean', default: false },
      'questions-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.faq) throw new Error(`--faq is required\n${USAGE}`);
  const overrides: Partial<Record<keyof Config, unknown>> = {};
  if (values.backend) overrides.CACHE_EMBEDDING_BACKEND = values.backend;
  if (values.threshold !== undefined) {
    overrides.CACHE_THRESHOLD = values.threshold;
    overrides.CACHE_HASHING_THRESHOLD = values.threshold;
  }
  const cfg = loadConfig(process.env, overrides);
  let faq = readJson(values.faq, 'FAQ file');
  // A workflow that shares another's FAQ (faqFrom) is scored on that one, as the engine loads it.
  const from = (faq as { faqFrom?: unknown }).faqFrom;
  if (typeof from === 'string') faq = readJson(join(dirname(values.faq), `${from}.json`), 'FAQ file');
  if (values['questions-only']) faq = withoutPhrasings(faq);
  const queries = values.queries ? readJson(values.queries, 'queries file') : undefined;
  const report = await evaluateFaq(faq, queries, cfg, { log: stderrLog }); // stdout is the JSON report
  if (values.table) {
    process.stdout.write(markdownTable(report));
    return;
  }
  const out = values.summary ? { ...report, outcomes: undefined } : report;
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

/** The FAQ with each entry's question only (no alternates or examples): what the embedding and guard do alone. */
function withoutPhrasings(raw: unknown): unknown {
  const f = raw as { entries?: unknown[]; faq?: unknown[] };
  const strip = (list?: unknown[]) => list?.map((e) => ({ ...(e as object), alternates: [], examples: [] }));
  return { ...f, ...(f.entries ? { entries: strip(f.entries) } : {}), ...(f.faq ? { faq: strip(f.faq) } : {}) };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** One row per language partition and one for all: hit rate, right answers, wrong answers among hits, outcomes. */
function markdownTable(r: EvalReport): string {
  const rows = [
    `backend ${r.backend}, threshold ${r.threshold}, ${r.entries} entries, ${r.queries} queries; lookup p50/p99 ${r.lookupMs.p50}/${r.lookupMs.p99} ms`,
    '',
    '| language | queries (expecting an entry) | hit rate | right answers | wrong / hits | outcomes |',
    '|---|---|---|---|---|---|',
  ];
  const row = (name: string, t: EvalTally) =>
    `| ${name} | ${t.queries} (${t.expecting}) | ${pct(t.hitRate)} | ${pct(t.correctHitRate)} | ${t.wrongHits} / ${t.hits} (${pct(t.wrongAnswerRate)}) | ${Object.entries(t.byOutcome)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')} |`;
  for (const [lang, t] of Object.entries(r.byLanguage)) rows.push(row(lang, t));
  rows.push(row('all', r));
  return `${rows.join('\n')}\n`;
}

main().catch((e: Error) => {
  process.stderr.write(`cache:eval: ${e.message}\n`);
  process.exitCode = 1;
});
