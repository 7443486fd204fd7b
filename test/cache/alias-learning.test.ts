// A cache that learns from its traffic (issue 15): a missed question whose LLM answer is an
// entry's answer becomes another phrasing of that entry (same guard), at once, and stays one
// across a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HashingEmbedding } from '../../adapters/local/hashing-embedding.ts';
import { FAQ_STATE, ResponseCache, faqEntryId, type CacheKey } from '../../engine/cache/index.ts';
import { loadConfig } from '../../engine/config.ts';
import { prewarmFaq } from '../../engine/faq-prewarm.ts';
import { parseWorkflow } from '../../engine/workflow.ts';

const key: CacheKey = { workflow: 'dental', state: FAQ_STATE, language: 'en-US', voice: 'v1' };
const PARKING = "Yes, there's free parking behind the building for patients.";
const wf = parseWorkflow(
  {
    id: 'dental',
    faq: [
      { id: 'parking', language: 'en', question: 'Is there parking at the clinic?', answer: PARKING },
      { id: 'kids', language: 'en', question: 'Do you treat children?', answer: 'Yes, we see children from age three.' },
      { id: 'yue-parking', language: 'zh-HK', question: '診所有冇停車場？', answer: '有，大廈後面有免費病人車位。' },
    ],
  },
  'test',
);
const dirs: string[] = [];
const open: ResponseCache[] = [];

async function make(dir?: string): Promise<ResponseCache> {
  const cfg = loadConfig({}, { CACHE_EMBED_THREADS: 0, CACHE_LEARN_MIN_COUNT: 2, ...(dir ? { CACHE_DIR: dir } : {}) });
  const c = await ResponseCache.create(cfg, { embedder: new HashingEmbedding({ dimensions: 256 }), persist: dir !== undefined });
  open.push(c);
  await prewarmFaq(c, wf, { 'en-US': 'v1', 'zh-HK': 'v2' }, async () => new Uint8Array(160).fill(7));
  return c;
}

afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('alias learning', () => {
  it('a missed question whose LLM answer is an entry’s answer becomes that entry’s phrasing, with its audio', async () => {
    const c = await make();
    const q = 'whats the situation for my vehicle when i arrive';
    expect(await c.lookup(key, q)).toBeNull();
    // Same answer up to case and punctuation, from the LLM: learned at once (no second sighting needed).
    const id = await c.learn(key, q, "yes, there's free parking behind the building for patients", true);
    expect(id).toBe(faqEntryId('dental', 'parking', 'v1'));
    expect(c.stats().aliases).toBe(1);
    const hit = await c.lookup(key, 'Whats the situation for my vehicle when I arrive?');
    expect(hit?.entryId).toBe(id);
    expect(hit?.text).toBe(PARKING); // the entry's own answer and audio
    expect(hit?.audio?.length).toBe(160);
  });

  it('in Cantonese too', async () => {
    const c = await make();
    const k: CacheKey = { ...key, language: 'zh-HK', voice: 'v2' };
    const q = '揸車嚟方唔方便？';
    expect(await c.lookup(k, q)).toBeNull();
    expect(await c.learn(k, q, '有，大廈後面有免費病人車位。', true)).toBe(faqEntryId('dental', 'yue-parking', 'v2'));
    expect((await c.lookup(k, q))?.entryId).toBe(faqEntryId('dental', 'yue-parking', 'v2'));
  });

  it('the guard still applies: a negated, dated or swapped question is not made an alias', async () => {
    const c = await make();
    for (const q of ["i don't need parking at the clinic", 'is there parking at the clinic on sunday', 'is there parking for 3 cars']) {
      expect(await c.learn(key, q, PARKING, true)).toBeNull(); // first sighting of an unknown answer pair: waits
      expect((await c.lookup(key, q))?.entryId).toBeUndefined();
    }
    expect(c.stats().aliases).toBe(0);
  });

  it('no alias from a short generic answer, another partition, or an answer that may not be kept', async () => {
    const c = await make();
    // "Of course." could answer anything.
    await c.put(key, 'can you help me', 'Of course.', { source: 'learned' });
    expect(await c.learn(key, 'could you help', 'Of course.', true)).toBeNull();
    // The same answer in another language partition is another entry's business.
    expect(await c.learn({ ...key, language: 'es-ES' }, 'hay parking', PARKING, true)).toBeNull();
    // Not cacheable.
    expect(await c.learn(key, 'where do patients leave their vehicle', PARKING, false)).toBeNull();
    expect(c.stats().aliases).toBe(0);
  });

  it('aliases persist with the cache: found again after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfw-alias-test-'));
    dirs.push(dir);
    const a = await make(dir);
    const q = 'whats the situation for my vehicle when i arrive';
    await a.learn(key, q, PARKING, true);
    await a.close();
    open.splice(open.indexOf(a), 1);

    const b = await make(dir);
    const hit = await b.lookup(key, q);
    expect(hit?.entryId).toBe(faqEntryId('dental', 'parking', 'v1'));
    expect(hit?.tier).toBe('exact');
    expect(hit?.audio?.length).toBe(160);
  });
});
