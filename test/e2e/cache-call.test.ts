// End to end with the semantic cache: an LLM answer is learned, and a paraphrase of the same
// question later in the call is answered with the cached audio, with no TTS call made.
import { describe, it, expect, afterAll } from 'vitest';
import type { LlmProvider, TtsProvider, TtsRequest } from '../../adapters/kit/types.ts';
import { loadConfig } from '../../engine/config.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startTestEngine, fixture, type TestEngine } from '../support/engine.ts';

// A question the demo FAQ cannot answer (its entries and examples say nothing of languages spoken).
const ANSWER = 'Yes, Doctor Moreau speaks French.';
const ttsCalls: TtsRequest[] = [];
let llmCalls = 0;

/** Real STT and TTS (recorded); an LLM that knows one thing the FAQ does not. */
function providers(wf: Parameters<typeof buildProviders>[0]) {
  const p = buildProviders(wf, loadConfig({}));
  const tts: TtsProvider = { name: p.tts.name, synthesize: (req) => (ttsCalls.push(req), p.tts.synthesize(req)) };
  const llm: LlmProvider = {
    name: 'test-llm',
    async *stream(req) {
      llmCalls++;
      for (const w of ANSWER.split(/(?<= )/)) {
        if (req.signal.aborted) return;
        yield { text: w, cacheable: true };
      }
    },
  };
  return { stt: p.stt, llm, tts };
}

let t: TestEngine;
afterAll(async () => {
  await t?.stop();
});

describe('a call answered from the cache', () => {
  it('plays a paraphrase from cached audio: no LLM and no TTS call for it', async () => {
    t = await startTestEngine({ CACHE_LEARN_MIN_COUNT: 1 }, { providers });
    const questions = ['Does one of your dentists speak French?', 'Is there a dentist who speaks French?'];
    const r = await simulateCall({ baseUrl: t.url, audio: fixture('call-3turns.ulaw').subarray(0, 8000 * 13), transcripts: questions, speed: 2 });
    const turns = t.engine.recent.get(r.callSid)!.turns.filter((x) => x.index > 0);
    expect(turns.map((x) => x.user)).toEqual(questions);

    expect(turns[0].source).toBe('llm');
    expect(turns[1].source).toMatch(/^cache-/);
    expect(turns[1].answer).toBe(ANSWER);
    expect(llmCalls).toBe(1);
    // The answer was synthesized once, for the first question; the paraphrase got that audio.
    // (ANSWER is one sentence: one TTS request per synthesis of it.)
    const answerTts = ttsCalls.filter((c) => c.ctx.callId === r.callSid && c.text === ANSWER);
    expect(answerTts).toHaveLength(1);
    expect(turns[1].ttsFirstByte).toBe(turns[1].responseStart); // cached audio: no TTS wait
    expect(turns[1].audioBytes).toBeGreaterThan(0);
  });
});
