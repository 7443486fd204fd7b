// Answer prediction (issue 15, the brief's "prediction"): the cache counts which entry answers
// the turn after which, keeps the counts in its snapshot, and a call that has just been answered
// by an entry gets the usual next entry's audio made in its voice before the caller asks. Real
// ResponseCache (offline hashing backend) and CallCore; the transport is a fake that records what
// it was asked to synthesise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import { map } from 'rxjs/operators';
import { afterEach, describe, expect, it } from 'vitest';
import type { LlmChunk, LlmProvider } from '../../adapters/kit/types.ts';
import { HashingEmbedding } from '../../adapters/local/hashing-embedding.ts';
import { FAQ_STATE, ResponseCache, faqEntryId, type CacheKey } from '../../engine/cache/index.ts';
import { Transitions } from '../../engine/cache/transitions.ts';
import { CallCore } from '../../engine/call/call-core.ts';
import { cacheVoice } from '../../engine/call/dialogue.ts';
import type { CallOutput, Utterance } from '../../engine/call/io.ts';
import { Predictor } from '../../engine/call/prediction.ts';
import { loadConfig, type Config } from '../../engine/config.ts';
import { prewarmFaq } from '../../engine/faq-prewarm.ts';
import { log } from '../../engine/log.ts';
import { createMetrics } from '../../engine/metrics/registry.ts';
import { parseWorkflow } from '../../engine/workflow.ts';

const VOICE = 'nova';
const TTS = 'fake-tts';
const wf = parseWorkflow(
  {
    id: 'clinic',
    mode: 'media',
    voices: { 'en-US': VOICE },
    faq: [
      { id: 'book', language: 'en', question: 'I would like to book an appointment.', answer: 'Of course. Which day suits you best?' },
      { id: 'parking', language: 'en', question: 'Is there parking at the clinic?', answer: 'Yes, there is free parking behind the building.' },
      { id: 'hours', language: 'en', question: 'What are your opening hours?', answer: 'We are open nine to five, Monday to Friday.' },
    ],
  },
  'test',
);
const cacheV = cacheVoice(TTS, VOICE);
const id = (faq: string) => faqEntryId('clinic', faq, cacheV);
const key: CacheKey = { workflow: 'clinic', state: FAQ_STATE, language: 'en-US', voice: cacheV };

/** Speaks pieces as text at once; synthesises in the background on request, recording each text, voice and language. */
class FakeOutput implements CallOutput {
  readonly mode = 'media' as const;
  readonly speaksGreeting = false;
  readonly joiner = ' ';
  readonly playing = false;
  readonly synthesised: Array<{ text: string; voice: string; language: string }> = [];
  /** Texts whose synthesis has been asked for but not finished (resolve() finishes them). */
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly holdSynthesis = false) {}
  speak(u: Utterance): Observable<string> {
    return u.pieces.pipe(map((p) => p.text));
  }
  stop(): undefined {
    return undefined;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  languageChanged(): void {}
  hangUp(): void {}
  shutdown(): void {}
  async presynthesize(text: string, voice: string, language: string, signal: AbortSignal): Promise<Uint8Array> {
    this.synthesised.push({ text, voice, language });
    if (this.holdSynthesis) await new Promise<void>((r) => this.waiting.push(r));
    signal.throwIfAborted();
    return new Uint8Array(800).fill(text.length % 256);
  }
  release(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

const noLlm: LlmProvider = {
  name: 'none',
  // eslint-disable-next-line require-yield
  async *stream(): AsyncIterable<LlmChunk> {
    throw new Error('every question here is in the FAQ');
  },
};

const dirs: string[] = [];
const caches: ResponseCache[] = [];
afterEach(async () => {
  for (const c of caches.splice(0)) await c.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function makeCache(cfg: Config, withAudio: boolean): Promise<ResponseCache> {
  const c = await ResponseCache.create(cfg, { embedder: new HashingEmbedding({ dimensions: 256 }), persist: true });
  caches.push(c);
  // No synthesis at pre-warm: the entries start without audio, as on a voice the workflow did not list.
  await prewarmFaq(c, wf, { 'en-US': cacheV }, withAudio ? async () => new Uint8Array(8) : undefined);
  return c;
}

function config(over: Partial<Record<string, unknown>> = {}): Config {
  const dir = mkdtempSync(join(tmpdir(), 'cfw-predict-'));
  dirs.push(dir);
  return loadConfig({}, { CACHE_EMBED_THREADS: 0, CACHE_DIR: dir, CACHE_PREDICT_MIN_COUNT: 3, CACHE_PREDICT_MIN_PROB: 0.5, ...over });
}

/** One call through the real call core: asks each question in turn, each after the previous answer. */
async function callAsking(cfg: Config, cache: ResponseCache, predictor: Predictor, questions: string[], output = new FakeOutput()): Promise<{ core: CallCore; output: FakeOutput }> {
  const core = new CallCore(output, { config: cfg, metrics: createMetrics(), log, cache, predictor });
  core.start({ callSid: `CA${Math.random()}`, workflow: wf, llm: noLlm, ttsName: TTS, parameters: {}, language: 'en-US' });
  for (const [i, q] of questions.entries()) {
    core.input({ kind: 'text', text: q, at: performance.now() });
    await until(() => core.turns.length === i + 1, `turn ${i + 1}`);
  }
  return { core, output };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('transition counts', () => {
  it('keeps the likeliest successors within bounds, with probabilities from every turn seen', () => {
    const t = new Transitions(2);
    for (let i = 0; i < 6; i++) t.observe('a', 'b');
    for (let i = 0; i < 4; i++) t.observe('a', 'c');
    t.observe('a', 'a'); // asking again is not counted
    expect(t.likely('a', 0.5, 3)).toEqual([{ entryId: 'b', probability: 0.6, count: 6 }]);
    expect(t.likely('a', 0.3, 5)).toEqual([{ entryId: 'b', probability: 0.6, count: 6 }]);
    expect(t.likely('a', 0.3, 3).map((n) => n.entryId)).toEqual(['b', 'c']);
    t.observe('x', 'y');
    t.observe('z', 'y'); // a third "from": the least recently answered ("a") is forgotten
    expect(t.likely('a', 0, 1)).toEqual([]);
    const back = new Transitions(10);
    expect(back.load(t.rows(() => true))).toBe(2);
    expect(back.likely('z', 0, 1)).toEqual([{ entryId: 'y', probability: 1, count: 1 }]);
    expect(back.load([['bad'], 'rubbish', ['q', 1, [['r', -1]]]])).toBe(0);
  });
});

describe('answer prediction', () => {
  it('learns from calls which entry follows which, keeps it in the snapshot and reloads it', async () => {
    const cfg = config({ CACHE_PREDICT: false });
    const cache = await makeCache(cfg, true);
    const predictor = Predictor.fromConfig(cfg);
    for (let i = 0; i < 3; i++) await callAsking(cfg, cache, predictor, ['I would like to book an appointment.', 'Is there parking at the clinic?']);
    await callAsking(cfg, cache, predictor, ['I would like to book an appointment.', 'What are your opening hours?']);
    const min = { probability: 0, count: 1 };
    const next = cache.likelyNext(id('book'), key, min);
    expect(next.map((n) => [n.entryId, n.count, n.probability])).toEqual([
      [id('parking'), 3, 0.75],
      [id('hours'), 1, 0.25],
    ]);
    expect(cache.likelyNext(id('parking'), key, min)).toEqual([]); // nothing was asked after parking
    await cache.close();

    const reopened = await ResponseCache.create(cfg, { embedder: new HashingEmbedding({ dimensions: 256 }), persist: true });
    caches.push(reopened);
    expect(reopened.likelyNext(id('book'), key, min).map((n) => [n.entryId, n.count])).toEqual([
      [id('parking'), 3],
      [id('hours'), 1],
    ]);
    expect(reopened.stats().transitionsFrom).toBe(1);
  });

  it('synthesises the likely next answer in the call’s voice and language before it is asked, and the hit plays it', async () => {
    const cfg = config();
    const cache = await makeCache(cfg, false);
    const counter = createMetrics().cachePredictions;
    const predictor = Predictor.fromConfig(cfg, counter);
    // Three calls teach book → parking. They have no audio yet; the third call's book answer already predicts parking.
    for (let i = 0; i < 2; i++) await callAsking(cfg, cache, predictor, ['I would like to book an appointment.', 'Is there parking at the clinic?']);
    expect(predictor.counts.made).toBe(0); // two observations: below CACHE_PREDICT_MIN_COUNT=3
    await callAsking(cfg, cache, predictor, ['I would like to book an appointment.', 'Is there parking at the clinic?']);
    expect(cache.hasAudio(id('parking'), cacheV)).toBe(false);

    const { core, output } = await callAsking(cfg, cache, predictor, ['I would like to book an appointment.']);
    await until(() => cache.hasAudio(id('parking'), cacheV), 'the predicted audio');
    expect(output.synthesised).toEqual([{ text: 'Yes, there is free parking behind the building.', voice: VOICE, language: 'en-US' }]);
    expect(predictor.counts).toMatchObject({ made: 1, used: 0 });

    core.input({ kind: 'text', text: 'Is there parking at the clinic?', at: performance.now() });
    await until(() => core.turns.length === 2, 'the parking turn');
    expect(core.turns[1].source).toBe('cache-exact');
    expect((await cache.lookup(key, 'Is there parking at the clinic?'))?.audio?.length).toBe(800);
    expect(predictor.counts).toMatchObject({ made: 1, used: 1, wasted: 0 });
    expect((await counter.get()).values.find((v) => v.labels.outcome === 'used')?.value).toBe(1);
    core.end('test');
  });

  it('synthesises nothing below the probability or count threshold, and counts a prediction not asked as wasted', async () => {
    const cfg = config({ CACHE_PREDICT_MIN_PROB: 0.65 });
    const cache = await makeCache(cfg, false);
    const predictor = Predictor.fromConfig(cfg);
    // book → parking 3 times, book → hours 3 times (at most 3 of 5, 0.6, on the way): each 0.5 of the turns after book, under 0.65.
    for (let i = 0; i < 3; i++) {
      await callAsking(cfg, cache, predictor, ['I would like to book an appointment.', 'Is there parking at the clinic?']);
      await callAsking(cfg, cache, predictor, ['I would like to book an appointment.', 'What are your opening hours?']);
    }
    const quiet = await callAsking(cfg, cache, predictor, ['I would like to book an appointment.']);
    await new Promise((r) => setTimeout(r, 30));
    expect(quiet.output.synthesised).toEqual([]);
    expect(predictor.counts.made).toBe(0);
    quiet.core.end('test');

    // Parking then follows book in 4 of 7 turns (0.57), 5 of 8 (0.625): still under. 6 of 9 (0.67) is over.
    for (let i = 0; i < 3; i++) await callAsking(cfg, cache, predictor, ['I would like to book an appointment.', 'Is there parking at the clinic?']);
    expect(predictor.counts.made).toBe(0);
    const held = new FakeOutput(true);
    const { core } = await callAsking(cfg, cache, predictor, ['I would like to book an appointment.'], held);
    await until(() => held.synthesised.length === 1, 'the prediction');
    expect(held.synthesised[0].text).toBe('Yes, there is free parking behind the building.');
    core.end('caller hung up'); // before asking, and before the synthesis finished
    held.release();
    await new Promise((r) => setTimeout(r, 10));
    expect(predictor.counts).toMatchObject({ made: 1, used: 0, wasted: 1, failed: 0 });
    expect(cache.hasAudio(id('parking'), cacheV)).toBe(false); // the call's synthesis stopped with it
  });

  it('never runs more syntheses at once than CACHE_PREDICT_CONCURRENCY: the rest are dropped, not queued', async () => {
    const cfg = config({ CACHE_PREDICT_CONCURRENCY: 1 });
    const cache = await makeCache(cfg, false);
    const learn = Predictor.fromConfig({ ...cfg, CACHE_PREDICT: false });
    for (let i = 0; i < 3; i++) await callAsking(cfg, cache, learn, ['I would like to book an appointment.', 'Is there parking at the clinic?']);
    for (let i = 0; i < 3; i++) await callAsking(cfg, cache, learn, ['What are your opening hours?', 'I would like to book an appointment.']);
    const predictor = Predictor.fromConfig(cfg);
    const a = new FakeOutput(true);
    const b = new FakeOutput(true);
    await callAsking(cfg, cache, predictor, ['I would like to book an appointment.'], a);
    await callAsking(cfg, cache, predictor, ['What are your opening hours?'], b);
    expect(a.synthesised).toHaveLength(1);
    expect(b.synthesised).toHaveLength(0);
    expect(predictor.counts).toMatchObject({ made: 1, dropped: 1 });
    a.release();
    await until(() => cache.hasAudio(id('parking'), cacheV), 'the one synthesis');
  });
});
