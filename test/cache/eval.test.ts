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
});
