// A Media Streams call that switches from English to Cantonese mid-call: the voice, the cache
// partition and the prompt all follow, as the adapters and the cache see them in their calls.
import { describe, it, expect, afterAll, vi } from 'vitest';
import type { LlmProvider, LlmRequest, TtsProvider, TtsRequest } from '../../adapters/kit/types.ts';
import { loadConfig } from '../../engine/config.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import type { CacheKey } from '../../engine/call/answer-cache.ts';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startTestEngine, fixture, type TestEngine } from '../support/engine.ts';

const ttsCalls: TtsRequest[] = [];
const llmCalls: LlmRequest[] = [];

/** The real providers, with every call's arguments recorded on the way through. */
function recording(wf: Parameters<typeof buildProviders>[0]) {
  const p = buildProviders(wf, loadConfig({}));
  const tts: TtsProvider = { name: p.tts.name, synthesize: (req) => (ttsCalls.push(req), p.tts.synthesize(req)) };
  const llm: LlmProvider = { name: p.llm.name, stream: (req) => (llmCalls.push({ ...req, messages: req.messages.map((m) => ({ ...m })) }), p.llm.stream(req)) };
  return { stt: p.stt, llm, tts };
}

let t: TestEngine;
afterAll(async () => {
  await t?.stop();
});

describe('switching language mid-call (Media Streams)', () => {
  it('moves voice, cache partition and prompt to Cantonese on the turn that switched', async () => {
    t = await startTestEngine({ DSP_THREADS: 1 }, { providers: recording });
    const lookups = vi.spyOn(t.engine.cache!, 'lookup');
    const cantonese = ['你哋星期六幾點開門呀？', '你哋診所有冇無線上網呀？'];
    const r = await simulateCall({ baseUrl: t.url, audio: fixture('call-3turns.ulaw'), transcripts: ['What are your opening hours on weekdays?', ...cantonese], speed: 2 });
    const s = t.engine.recent.get(r.callSid)!;
    const turns = s.turns.filter((x) => x.index > 0);
    expect(turns.map((x) => x.user)).toEqual(['What are your opening hours on weekdays?', ...cantonese]);
    expect(turns[1].languageSwitch).toBe('en-US→zh-HK');

    // Cache partition: English lookups first, then Cantonese ones from the switching turn on.
    const keys = lookups.mock.calls.map((c) => c[0] as CacheKey);
    expect(keys[0].language).toBe('en-US');
    expect(keys.slice(1).every((k) => k.language === 'zh-HK')).toBe(true);
    expect(keys[0].voice).not.toBe(keys[1].voice);

    // Voice: English (en-us) until the switch, Cantonese (yue) from then on — never mixed.
    const callTts = ttsCalls.filter((c) => c.ctx.callId === r.callSid).map((c) => `${c.language}/${c.voice}`);
    expect(callTts[0]).toBe('en-US/en-us');
    expect(callTts.at(-1)).toBe('zh-HK/yue');
    const firstCantonese = callTts.indexOf('zh-HK/yue');
    expect(callTts.slice(0, firstCantonese).every((v) => v === 'en-US/en-us')).toBe(true);
    expect(callTts.slice(firstCantonese).every((v) => v === 'zh-HK/yue')).toBe(true);

    // Prompt: the LLM saw the workflow's Cantonese system prompt for the unanswered question.
    const wf = t.engine.workflow('demo')!;
    const llm = llmCalls.filter((c) => c.ctx.callId === r.callSid && c.ctx.language === 'zh-HK');
    expect(llm.length).toBeGreaterThan(0);
    expect(llm[0].messages[0].role).toBe('system');
    expect(llm[0].messages[0].content.startsWith(wf.prompts['zh-HK'])).toBe(true);
    // …and before the switch, the English one.
    const en = llmCalls.filter((c) => c.ctx.callId === r.callSid && c.ctx.language === 'en-US');
    for (const c of en) expect(c.messages[0].content.startsWith(wf.prompt)).toBe(true);
  });
});
