import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { evaluateFaq } from '../../engine/cache/evaluate.ts';
import { loadConfig } from '../../engine/config.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/cache/harbour-dental.faq.json', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('cache:eval on harbour-dental (offline hashing backend)', () => {
  it('keeps the wrong-answer rate at or under 1% with a useful hit rate', async () => {
    const cfg = loadConfig({}, { CACHE_EMBEDDING_BACKEND: 'hashing', CACHE_EMBED_THREADS: 0 });
    const r = await evaluateFaq(JSON.parse(readFileSync(FIXTURE, 'utf8')), undefined, cfg);
    console.log(`hashing: hitRate=${r.hitRate} correctHitRate=${r.correctHitRate} wrongAnswerRate=${r.wrongAnswerRate} hits=${r.hits} wrong=${r.wrongHits} of ${r.queries} queries`);
    expect(r.queries).toBe(62);
    expect(r.wrongAnswerRate).toBeLessThanOrEqual(0.01);
    expect(r.hitRate).toBeGreaterThan(0.3);
    // Every guarded near-miss query (expect null) is a miss.
    for (const o of r.outcomes.filter((x) => x.expect === null)) expect(o.got).toBeNull();
  });

  it('rejects malformed input with a clear message', async () => {
    const cfg = loadConfig({}, { CACHE_EMBEDDING_BACKEND: 'hashing', CACHE_EMBED_THREADS: 0 });
    await expect(evaluateFaq({ workflow: 'x', entries: [] }, undefined, cfg)).rejects.toThrow(/FAQ file: entries/);
    await expect(evaluateFaq(JSON.parse(readFileSync(FIXTURE, 'utf8')), { queries: [{ text: 'x' }] }, cfg)).rejects.toThrow(/queries file/);
  });

  it('the CLI prints the JSON report', async () => {
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const { stdout } = await promisify(execFile)(tsx, ['engine/cache/eval.ts', '--faq', FIXTURE, '--backend', 'hashing'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'silent', CACHE_EMBED_THREADS: '1' },
    });
    const r = JSON.parse(stdout);
    expect(r.backend).toBe('hashing@pool');
    expect(r.outcomes).toHaveLength(62);
    expect(r.wrongAnswerRate).toBeLessThanOrEqual(0.01);
  });

  it('reports per language and per outcome, with the guard’s reason on each refused miss', async () => {
    const cfg = loadConfig({}, { CACHE_EMBEDDING_BACKEND: 'hashing', CACHE_EMBED_THREADS: 0 });
    const faq = JSON.parse(readFileSync(new URL('../../bench/cache-eval/clinic.faq.json', import.meta.url), 'utf8'));
    const queries = {
      queries: [
        { text: 'does the clinic see children', language: 'en-US', expect: 'kids' },
        { text: "no i don't want to book an appointment", language: 'en-US', expect: null },
        { text: 'how much is a crown', language: 'en-US', expect: null },
        { text: 'what is the meaning of life', language: 'en-US', expect: null },
        { text: '¿dónde está la clínica?', language: 'es-MX', expect: 'es-location' },
        { text: '洗牙收費幾多？', language: 'zh-HK', expect: 'yue-price-cleaning' },
        { text: '我唔想預約', language: 'zh-HK', expect: null },
        { text: '种牙多少钱？', language: 'zh-CN', expect: null },
        { text: '你们在哪儿？', language: 'zh-CN', expect: 'zh-location' },
      ],
    };
    const r = await evaluateFaq(faq, queries, cfg);
    expect(Object.keys(r.byLanguage)).toEqual(['en', 'es', 'yue', 'zh']);
    for (const t of [r, ...Object.values(r.byLanguage)]) {
      expect(Object.values(t.byOutcome).reduce((a, b) => a + b, 0)).toBe(t.queries);
      expect(t).toMatchObject({ hitRate: expect.any(Number), correctHitRate: expect.any(Number), wrongAnswerRate: expect.any(Number), hits: expect.any(Number), wrongHits: expect.any(Number) });
    }
    expect(r.byLanguage.en).toMatchObject({ queries: 4, expecting: 1, hits: 1, wrongHits: 0 });
    expect(r.byLanguage.en.byOutcome).toMatchObject({ hit: 1, 'correct-miss:guard-negation': 1, 'correct-miss:guard-entity': 1 });
    const refused = r.outcomes.find((o) => o.text === '我唔想預約')!;
    expect(refused).toMatchObject({ outcome: 'correct-miss', rejected: { entry: 'yue-book', reason: 'negation' } });
    expect(r.outcomes.find((o) => o.text === 'what is the meaning of life')).toMatchObject({ outcome: 'correct-miss' });
    expect(r.wrongHits).toBe(0);
  });

  it('takes a workflow file as the FAQ (its id and faq)', async () => {
    const cfg = loadConfig({}, { CACHE_EMBEDDING_BACKEND: 'hashing', CACHE_EMBED_THREADS: 0 });
    const wf = JSON.parse(readFileSync(new URL('../../engine/workflows/demo.json', import.meta.url), 'utf8'));
    const r = await evaluateFaq(wf, { queries: [{ text: 'does the clinic see children', language: 'en-US', expect: 'kids' }] }, cfg);
    expect(r.entries).toBe(wf.faq.length);
    expect(r.outcomes[0]).toMatchObject({ got: 'kids', outcome: 'hit' });
  });
});
