import { afterEach, describe, expect, it } from 'vitest';
import { HashingEmbedding } from '../../adapters/local/hashing-embedding.ts';
import { FAQ_STATE, ResponseCache, faqEntryId } from '../../engine/cache/index.ts';
import { loadConfig } from '../../engine/config.ts';
import { prewarmFaq } from '../../engine/faq-prewarm.ts';
import { parseWorkflow } from '../../engine/workflow.ts';

const open: ResponseCache[] = [];
async function make(): Promise<ResponseCache> {
  const c = await ResponseCache.create(loadConfig({}, { CACHE_EMBED_THREADS: 0 }), { embedder: new HashingEmbedding({ dimensions: 256 }), persist: false });
  open.push(c);
  return c;
}
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

const wf = parseWorkflow(
  {
    id: 'dental',
    faq: [
      { id: 'parking', language: 'en', question: 'Is there parking?', answer: 'Yes, behind the building.', alternates: ['Where can I park?'] },
      { id: 'noise', language: 'en', question: 'Um?', answer: 'Unreachable.' },
    ],
  },
  'test',
);

describe('prewarmFaq', () => {
  it('without voices (relay mode) stores voice-less entries and synthesises nothing', async () => {
    const c = await make();
    let calls = 0;
    const r = await prewarmFaq(c, wf, {}, async () => {
      calls++;
      return new Uint8Array(10);
    });
    expect(r).toEqual({ entries: 1, audio: 0 }); // "Um?" has no words left: skipped
    expect(calls).toBe(0);
    const hit = await c.lookup({ workflow: 'dental', state: FAQ_STATE, language: 'en-US', voice: '' }, 'where can i park');
    expect(hit?.entryId).toBe(faqEntryId('dental', 'parking', ''));
  });

  it('keeps the entry when synthesis fails, and synthesises on the next pre-warm', async () => {
    const c = await make();
    const failing = async (): Promise<Uint8Array> => {
      throw new Error('tts down');
    };
    expect(await prewarmFaq(c, wf, { 'en-US': 'en-us' }, failing)).toEqual({ entries: 1, audio: 0 });
    const id = faqEntryId('dental', 'parking', 'en-us');
    expect(c.has(id)).toBe(true);
    expect(c.hasAudio(id, 'en-us')).toBe(false);
    expect(await prewarmFaq(c, wf, { 'en-US': 'en-us' }, async () => new Uint8Array(160))).toEqual({ entries: 1, audio: 1 });
    expect(c.hasAudio(id, 'en-us')).toBe(true);
  });

  it('takes over a question a learned answer held, and the FAQ answer is served', async () => {
    const c = await make();
    const key = { workflow: 'dental', state: FAQ_STATE, language: 'en', voice: '' };
    const learned = await c.put(key, 'Is there parking?', 'Maybe.');
    await prewarmFaq(c, { ...wf, faq: [{ ...wf.faq[0], alternates: [] }] }, {});
    const hit = await c.lookup(key, 'is there parking');
    expect(hit?.entryId).toBe(faqEntryId('dental', 'parking', ''));
    expect(hit?.text).toBe('Yes, behind the building.');
    expect(c.has(learned)).toBe(false);
  });

  it('leaves other workflows and learned entries alone when dropping removed FAQ entries', async () => {
    const c = await make();
    const learned = await c.put({ workflow: 'dental', state: FAQ_STATE, language: 'en', voice: '' }, 'Do you do implants?', 'Yes.');
    await prewarmFaq(c, { ...wf, id: 'other' }, {});
    await prewarmFaq(c, wf, {});
    await prewarmFaq(c, { ...wf, faq: [] }, {});
    expect(c.has(faqEntryId('dental', 'parking', ''))).toBe(false);
    expect(c.has(faqEntryId('other', 'parking', ''))).toBe(true);
    expect(c.has(learned)).toBe(true);
  });
});
