import { afterEach, describe, expect, it } from 'vitest';
import { HashingEmbedding } from '../../adapters/local/hashing-embedding.ts';
import { loadConfig, type Config } from '../../engine/config.ts';
import { FAQ_STATE, ResponseCache, faqEntryId, type CacheKey } from '../../engine/cache/index.ts';
import { parseWorkflow } from '../../engine/workflow.ts';
import { prewarmFaq } from '../../engine/faq-prewarm.ts';

const key = (over: Partial<CacheKey> = {}): CacheKey => ({ workflow: 'dental', state: FAQ_STATE, language: 'en-US', voice: 'en-us', ...over });
const open: ResponseCache[] = [];

async function make(over: Partial<Record<keyof Config, unknown>> = {}, now?: () => number): Promise<ResponseCache> {
  const cfg = loadConfig({}, { CACHE_EMBED_THREADS: 0, ...over });
  const c = await ResponseCache.create(cfg, { embedder: new HashingEmbedding({ dimensions: 256 }), persist: false, now });
  open.push(c);
  return c;
}

afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

describe('ResponseCache lookups', () => {
  it('serves an exact hit after normalisation, and a semantic hit for a close paraphrase', async () => {
    const c = await make();
    const id = await c.put(key(), 'Are you open on Saturday?', 'Saturdays 9 to 1.');
    const exact = await c.lookup(key(), 'um, are you OPEN on saturday');
    expect(exact).toMatchObject({ entryId: id, tier: 'exact', text: 'Saturdays 9 to 1.' });
    const sem = await c.lookup(key(), 'is the clinic open on saturday');
    expect(sem?.tier).toBe('semantic');
    expect(sem?.entryId).toBe(id);
    expect(sem!.similarity).toBeGreaterThanOrEqual(c.stats().threshold);
  });

  it('misses unrelated questions and guarded near misses, and counts them', async () => {
    const c = await make();
    await c.put(key(), 'Are you open on Saturday?', 'Saturdays 9 to 1.');
    await c.put(key(), 'I want to cancel my appointment', 'Which name is it under?');
    expect(await c.lookup(key(), 'do you sell toothbrushes')).toBeNull();
    expect(await c.lookup(key(), 'are you open on sunday')).toBeNull();
    expect(await c.lookup(key(), "i don't want to cancel my appointment")).toBeNull();
    expect(await c.lookup(key(), 'i want to cancel my insurance')).toBeNull();
    const s = c.stats();
    expect(s.misses).toBe(4);
    expect(s.guardRejections).toBeGreaterThanOrEqual(2);
    expect(s.exactHits + s.semanticHits).toBe(0);
  });

  it('never crosses the context key: workflow, state, language or voice', async () => {
    const c = await make();
    await c.put(key(), 'Where is the clinic?', 'At 12 Harbour Road.');
    expect(await c.lookup(key(), 'where is the clinic')).not.toBeNull();
    expect(await c.lookup(key({ workflow: 'other' }), 'where is the clinic')).toBeNull();
    expect(await c.lookup(key({ state: 'booking' }), 'where is the clinic')).toBeNull();
    expect(await c.lookup(key({ language: 'es-ES' }), 'where is the clinic')).toBeNull();
    expect(await c.lookup(key({ voice: 'alloy' }), 'where is the clinic')).toBeNull();
    // en-GB is the same language partition as en-US; '' state is the FAQ state.
    expect(await c.lookup(key({ language: 'en-GB', state: '' }), 'where is the clinic')).not.toBeNull();
  });

  it('keeps Cantonese and Mandarin apart', async () => {
    const c = await make();
    await c.put(key({ language: 'zh-HK' }), '診所喺邊度？', '我哋喺海港道十二號。');
    expect(await c.lookup(key({ language: 'yue' }), '診所喺邊度')).not.toBeNull();
    expect(await c.lookup(key({ language: 'zh-CN' }), '診所喺邊度')).toBeNull();
  });

  it('never serves an expired entry (absolute TTL on an injected clock) and sweeps it', async () => {
    let t = 1_000_000;
    const c = await make({ CACHE_TTL_S: 60 }, () => t);
    await c.put(key(), 'Do you treat children?', 'From age three.');
    t += 59_000;
    expect(await c.lookup(key(), 'do you treat children')).not.toBeNull();
    t += 2_000; // 61 s after creation: expired even though it was just used (not sliding)
    expect(await c.lookup(key(), 'do you treat children')).toBeNull();
    expect(await c.lookup(key(), 'can you treat my children')).toBeNull();
    await c.sweepExpired();
    expect(c.stats().entries).toBe(0);
  });

  it('evicts the least recently used entry at capacity', async () => {
    const c = await make({ CACHE_CAPACITY: 2 });
    const a = await c.put(key(), 'Do you treat children?', 'Yes.');
    const b = await c.put(key(), 'Is there parking?', 'Yes, behind.');
    expect(await c.lookup(key(), 'do you treat children')).not.toBeNull(); // a is now younger than b
    const d = await c.put(key(), 'Do you accept insurance?', 'Most plans.');
    expect(c.has(a)).toBe(true);
    expect(c.has(b)).toBe(false);
    expect(c.has(d)).toBe(true);
    expect(c.stats().evictions).toBe(1);
    expect(await c.lookup(key(), 'is there parking')).toBeNull();
  });

  it('reuses freed HNSW slots: slot count stays flat over many insert/evict cycles', async () => {
    const c = await make({ CACHE_CAPACITY: 50 });
    for (let i = 0; i < 50; i++) await c.put(key(), `question number ${i} about topic${i}`, `answer ${i}`);
    const before = c.indexStats();
    for (let i = 50; i < 1050; i++) await c.put(key(), `question number ${i} about topic${i}`, `answer ${i}`);
    const after = c.indexStats();
    expect(c.stats().entries).toBe(50);
    expect(c.stats().evictions).toBe(1000);
    expect(after.live).toBe(50);
    expect(after.slots).toBe(before.slots);
    expect(after.labelsIssued).toBe(1050);
    // The newest entries are still found.
    expect(await c.lookup(key(), 'question number 1049 about topic1049')).not.toBeNull();
  });

  it('returns stored audio for the key voice', async () => {
    const c = await make();
    const id = await c.put(key(), 'Is there parking?', 'Yes.');
    const ulaw = new Uint8Array(1600).fill(0x7f);
    c.attachAudio(id, 'en-us', ulaw);
    const hit = await c.lookup(key(), 'is there parking');
    expect(hit?.audio).toEqual(ulaw);
  });

  it('reports lookup latency percentiles and entries', async () => {
    const c = await make();
    await c.put(key(), 'Is there parking?', 'Yes.');
    for (let i = 0; i < 5; i++) await c.lookup(key(), 'is there parking');
    const s = c.stats();
    expect(s.lookupMs.samples).toBe(5);
    expect(s.lookupMs.p99).toBeGreaterThanOrEqual(s.lookupMs.p50);
    expect(s.entries).toBe(1);
    expect(s.backend).toBe('hashing');
  });
});

describe('learning from LLM answers', () => {
  it('stores an answer once it has been given CACHE_LEARN_MIN_COUNT times', async () => {
    const c = await make({ CACHE_LEARN_MIN_COUNT: 2 });
    expect(await c.learn(key(), 'Do you do implants?', 'Yes, we place implants.', true)).toBeNull();
    expect(await c.lookup(key(), 'do you do implants')).toBeNull();
    const id = await c.learn(key(), 'do you do implants', 'Yes, we place implants.', true);
    expect(id).toBeTypeOf('string');
    expect((await c.lookup(key(), 'Do you do implants?'))?.entryId).toBe(id);
  });

  it('never stores cacheable=false answers or personal data', async () => {
    const c = await make({ CACHE_LEARN_MIN_COUNT: 1 });
    expect(await c.learn(key(), 'When is my appointment?', 'Tuesday at 3.', false)).toBeNull();
    expect(await c.learn(key(), 'What number do you have?', 'We have 415 555 0133 on file.', true)).toBeNull();
    expect(await c.learn(key(), 'What email?', 'It goes to sam@example.org.', true)).toBeNull();
    expect(c.stats().entries).toBe(0);
    expect(c.stats().learnRejected).toBe(3);
  });
});

describe('prewarm', () => {
  const wf = parseWorkflow(
    {
      id: 'dental',
      faq: [
        { id: 'parking', language: 'en', question: 'Is there parking?', answer: 'Yes, behind the building.', alternates: ['Where can I park?'] },
        { id: 'es-location', language: 'es', question: '¿Dónde está la clínica?', answer: 'En Harbour Road 12.' },
        { id: 'yue-location', language: 'zh-HK', question: '診所喺邊度？', answer: '海港道十二號。' },
      ],
    },
    'test',
  );

  it('stores FAQ entries per voice in state FAQ_STATE and pre-synthesises their audio', async () => {
    const c = await make();
    const spoken: string[] = [];
    const synth = async (text: string, voice: string, language: string) => {
      spoken.push(`${voice}|${language}|${text}`);
      return new Uint8Array(160).fill(voice.length);
    };
    const r = await prewarmFaq(c, wf, { 'en-US': 'en-us', 'es-ES': 'es', 'zh-HK': 'yue' }, synth);
    expect(r).toEqual({ entries: 3, audio: 3 });
    expect(spoken).toContain('en-us|en-US|Yes, behind the building.');
    const hit = await c.lookup({ workflow: 'dental', state: FAQ_STATE, language: 'en-GB', voice: 'en-us' }, 'where can i park');
    expect(hit?.entryId).toBe(faqEntryId('dental', 'parking', 'en-us'));
    expect(hit?.audio?.length).toBe(160);
    expect(await c.lookup({ workflow: 'dental', state: FAQ_STATE, language: 'es-MX', voice: 'es' }, '¿dónde está la clínica?')).not.toBeNull();
    expect(await c.lookup({ workflow: 'dental', state: FAQ_STATE, language: 'zh-HK', voice: 'yue' }, '診所喺邊度')).not.toBeNull();
    // A second prewarm (workflow reload) keeps existing audio and drops removed entries.
    const again = await prewarmFaq(c, { ...wf, faq: wf.faq.slice(0, 1) }, { 'en-US': 'en-us' }, synth);
    expect(again).toEqual({ entries: 1, audio: 1 });
    expect(spoken.length).toBe(3);
    expect(c.stats().entries).toBe(1);
  });
});
