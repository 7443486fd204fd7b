// `npm run lang:detect -- "TEXT"`: prints the detection as JSON.
// `npm run lang:detect -- --file F`: scores a JSON array of {text, language} and prints the
// accuracy per language and a markdown table (and the misses, so they can be looked at).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { detectLanguage, detectLanguageRequest, type Detection } from './detect.ts';
import { getLocale, sameLanguage } from './registry.ts';

export interface LabelledItem {
  text: string;
  language: string;
  /** Items sharing a pair id say the same thing in different Chinese varieties. */
  pair?: string;
}

export interface LanguageScore {
  language: string;
  total: number;
  correct: number;
  accuracy: number;
  meanConfidence: number;
}

export interface Evaluation {
  total: number;
  correct: number;
  accuracy: number;
  perLanguage: LanguageScore[];
  /** Pair groups whose every member was detected right (Cantonese vs Mandarin). */
  pairs: { total: number; correct: number; accuracy: number };
  misses: Array<{ text: string; expected: string; got: string | null; confidence: number }>;
}

/**
 * A detection is right when it names the labelled language. For Chinese the label is a full
 * locale and must match exactly (Cantonese vs Mandarin, Traditional vs Simplified); elsewhere
 * text cannot tell regions apart, so es-ES and es-MX both satisfy "es".
 */
export function matchesLabel(d: Detection | null, label: string): boolean {
  if (!d) return false;
  const want = getLocale(label);
  if (!want) return false;
  if (want.language === 'yue' || want.language === 'cmn') {
    const wantCode = want.code === 'zh-MO' ? 'zh-HK' : want.code; // Macau Cantonese is written as in Hong Kong
    return d.locale === wantCode;
  }
  return sameLanguage(d.locale, want);
}

export function parseLabelled(raw: unknown, source: string): LabelledItem[] {
  if (!Array.isArray(raw)) throw new Error(`${source}: expected a JSON array of {text, language}`);
  return raw.map((x, i) => {
    if (typeof x !== 'object' || x === null || typeof (x as LabelledItem).text !== 'string' || typeof (x as LabelledItem).language !== 'string')
      throw new Error(`${source}[${i}]: each item needs string "text" and "language"`);
    if (!getLocale((x as LabelledItem).language)) throw new Error(`${source}[${i}]: unknown language "${(x as LabelledItem).language}"`);
    return x as LabelledItem;
  });
}

export function evaluate(items: LabelledItem[]): Evaluation {
  const per = new Map<string, { total: number; correct: number; conf: number }>();
  const pairOk = new Map<string, boolean>();
  const misses: Evaluation['misses'] = [];
  let correct = 0;
  for (const it of items) {
    const d = detectLanguage(it.text);
    const ok = matchesLabel(d, it.language);
    const s = per.get(it.language) ?? { total: 0, correct: 0, conf: 0 };
    s.total++;
    if (ok) {
      s.correct++;
      correct++;
    } else misses.push({ text: it.text, expected: it.language, got: d?.locale ?? null, confidence: d?.confidence ?? 0 });
    s.conf += d?.confidence ?? 0;
    per.set(it.language, s);
    if (it.pair) pairOk.set(it.pair, (pairOk.get(it.pair) ?? true) && ok);
  }
  const perLanguage = [...per.entries()]
    .map(([language, s]) => ({ language, total: s.total, correct: s.correct, accuracy: s.correct / s.total, meanConfidence: s.conf / s.total }))
    .sort((a, b) => a.language.localeCompare(b.language));
  const pairsCorrect = [...pairOk.values()].filter(Boolean).length;
  return {
    total: items.length,
    correct,
    accuracy: items.length ? correct / items.length : 0,
    perLanguage,
    pairs: { total: pairOk.size, correct: pairsCorrect, accuracy: pairOk.size ? pairsCorrect / pairOk.size : 0 },
    misses,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function markdownTable(e: Evaluation): string {
  const rows = ['| language | correct / total | accuracy | mean confidence |', '|---|---:|---:|---:|'];
  for (const s of e.perLanguage) rows.push(`| ${s.language} | ${s.correct} / ${s.total} | ${pct(s.accuracy)} | ${s.meanConfidence.toFixed(2)} |`);
  rows.push(`| **all** | ${e.correct} / ${e.total} | **${pct(e.accuracy)}** | |`);
  if (e.pairs.total) rows.push(`| Cantonese/Mandarin pairs (all members right) | ${e.pairs.correct} / ${e.pairs.total} | ${pct(e.pairs.accuracy)} | |`);
  return rows.join('\n');
}

function usage(): string {
  return 'usage: npm run lang:detect -- "TEXT"   |   npm run lang:detect -- --file labelled.json';
}

function main(argv: string[]): number {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    console.error(usage());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--file') {
    const path = argv[1];
    if (!path) {
      console.error(`--file needs a path\n${usage()}`);
      return 2;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      console.error(`cannot read ${path}: ${(e as Error).message}`);
      return 1;
    }
    let items: LabelledItem[];
    try {
      items = parseLabelled(raw, path);
    } catch (e) {
      console.error((e as Error).message);
      return 1;
    }
    const e = evaluate(items);
    for (const s of e.perLanguage) console.log(`${s.language.padEnd(8)} ${String(s.correct).padStart(3)}/${String(s.total).padEnd(3)} ${pct(s.accuracy)}`);
    console.log(`overall  ${e.correct}/${e.total} ${pct(e.accuracy)}${e.pairs.total ? `; Cantonese/Mandarin pairs ${e.pairs.correct}/${e.pairs.total}` : ''}\n`);
    console.log(markdownTable(e));
    if (e.misses.length) {
      console.log('\nmisses:');
      for (const m of e.misses) console.log(`- [${m.expected} → ${m.got ?? 'none'} @ ${m.confidence}] ${m.text}`);
    }
    return 0;
  }
  const text = argv.join(' ');
  const d = detectLanguage(text);
  const request = detectLanguageRequest(text);
  console.log(JSON.stringify({ text, ...(d ?? { locale: null, confidence: 0 }), ...(request ? { request } : {}) }, null, 2));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
