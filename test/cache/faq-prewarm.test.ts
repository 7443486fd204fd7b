import { afterEach, describe, expect, it } from 'vitest';
import { HashingEmbedding } from '../../adapters/local/hashing-embedding.ts';
import { FAQ_STATE, ResponseCache, faqEntryId } from '../../engine/cache/index.ts';
import { loadConfig } from '../../engine/config.ts';
import { prewarmFaq } from '../../engine/faq-prewarm.ts';
import { loadWorkflows, parseWorkflow } from '../../engine/workflow.ts';

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

  it('pre-warms an entry’s examples with its answer and audio, and a caller asking one hits it', async () => {
    const c = await make();
    const ex = parseWorkflow(
      {
        id: 'dental',
        faq: [
          {
            id: 'parking',
            language: 'en',
            question: 'Is there parking at the clinic?',
            answer: 'Yes, behind the building.',
            alternates: ['Where can I park?'],
            examples: ['Is there somewhere to leave my car?', 'Do you have a car park?', 'where can i park'],
          },
        ],
      },
      'test',
    );
    let synths = 0;
    const r = await prewarmFaq(c, ex, { 'en-US': 'v1' }, async () => (synths++, new Uint8Array(80).fill(3)));
    expect(r).toEqual({ entries: 1, audio: 1 });
    expect(synths).toBe(1); // one answer, one synthesis, whatever the number of examples
    // question + alternate + two examples ("where can i park" is the alternate again)
    expect(c.stats().phrases).toBe(4);
    const k = { workflow: 'dental', state: FAQ_STATE, language: 'en-US', voice: 'v1' };
    for (const q of ['Is there somewhere to leave my car?', 'do you have a car park']) {
      const hit = await c.lookup(k, q);
      expect(hit?.entryId).toBe(faqEntryId('dental', 'parking', 'v1'));
      expect(hit?.tier).toBe('exact');
      expect(hit?.text).toBe('Yes, behind the building.');
      expect(hit?.audio?.length).toBe(80);
    }
    // A paraphrase of an example, not of the question, is found through the example.
    expect((await c.lookup(k, 'is there somewhere i can leave the car'))?.entryId).toBe(faqEntryId('dental', 'parking', 'v1'));
  });

  it('the demo workflows’ FAQ examples load and pre-warm', async () => {
    const workflows = loadWorkflows(new URL('../../engine/workflows', import.meta.url).pathname);
    for (const id of ['demo', 'demo-relay']) {
      const w = workflows.get(id)!;
      const withExamples = w.faq.filter((f) => f.examples.length > 0);
      expect(withExamples.length).toBe(w.faq.length);
      const c = await make();
      await prewarmFaq(c, w, {});
      expect(c.stats().phrases).toBeGreaterThan(w.faq.length * 3);
    }
  });
});
