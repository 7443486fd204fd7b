// Hedging and failover with the REAL clients (openai, Azure Speech SDK) against the loopback
// fakes and their fault injection: who won, who was aborted, and that the caller hears each
// word once. Delays only order events with wide margins; no durations are asserted.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OpenAiLlm } from '../../adapters/openai/llm.ts';
import { OpenAiStt } from '../../adapters/openai/stt.ts';
import { OpenAiTts } from '../../adapters/openai/tts.ts';
import { AzureTts } from '../../adapters/azure-speech/tts.ts';
import { AzureStt } from '../../adapters/azure-speech/stt.ts';
import { ProviderError, type LlmChunk } from '../../adapters/kit/types.ts';
import { mapOpenAiError } from '../../adapters/openai/errors.ts';
import { HedgedLlm, HedgedStt, HedgedTts, candidates } from '../../engine/providers/chain.ts';
import { ProviderHealth, type HealthEvent } from '../../engine/providers/health.ts';
import { testUtterance } from '../../adapters/testkit/checks.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';
import { startFakeAzureSpeech, type FakeAzureSpeech } from '../support/fake-azure-speech.ts';

const ANSWER = 'Our clinic is open from nine in the morning until five in the evening, Monday to Friday.';
let primary: FakeOpenAi;
let secondary: FakeOpenAi;
let azure: FakeAzureSpeech;

beforeAll(async () => {
  primary = await startFakeOpenAi({ reply: ANSWER, transcript: 'from openai' });
  secondary = await startFakeOpenAi({ reply: ANSWER, continuation: 'restart', transcript: 'from the secondary' });
  azure = await startFakeAzureSpeech({ transcripts: Array.from({ length: 20 }, () => 'from azure') });
});
afterAll(async () => {
  await Promise.all([primary?.close(), secondary?.close(), azure?.close()]);
});

const ctx = { callId: 'c', workflow: 'w', language: 'en-US', parameters: {} };
const settings = { minDelayMs: 30, maxDelayMs: 40, firstOutputTimeoutMs: 5000, stallTimeoutMs: 5000, minSamples: 1000 };
const llm = (f: FakeOpenAi, name: string) => new OpenAiLlm({ apiKey: 'k', baseURL: f.baseURL, model: 'm', name });
async function text(it: AsyncIterable<LlmChunk>) {
  let s = '';
  for await (const c of it) s += c.text;
  return s;
}
const ask = () => ({ ctx, messages: [{ role: 'user' as const, content: 'When are you open?' }], signal: new AbortController().signal });

describe('LLM over the wire', () => {
  it('maps a 429 with retry-after to rate_limited with retryAfterMs', async () => {
    primary.setFaults([{ kind: 'status', status: 429, retryAfter: '3' }]);
    const e = await text(llm(primary, 'p').stream(ask())).catch((x) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.kind).toBe('rate_limited');
    expect(e.retryAfterMs).toBe(3000);
    expect(mapOpenAiError('x', new Error('socket hang up')).kind).toBe('server');
  });

  it('hedges a primary that hangs before the first byte; the hedge wins and the primary request is aborted', async () => {
    primary.setFaults([{ kind: 'hang' }]);
    const n = primary.requests.length;
    const events: HealthEvent[] = [];
    const health = new ProviderHealth();
    health.events$.subscribe((e) => events.push(e));
    const chain = new HedgedLlm([{ name: 'p', provider: llm(primary, 'p') }, { name: 's', provider: llm(secondary, 's') }], { health, settings, budgetRatio: 1 });
    expect(await text(chain.stream(ask()))).toBe(ANSWER);
    await vi.waitFor(() => expect(primary.requests[n].aborted).toBe(true));
    expect(events.map((e) => e.type)).toEqual(['hedge']);
  });

  it('a slow first token past the hard limit fails over (hedging off) and the slow request is aborted', async () => {
    primary.setFaults([{ kind: 'slow-first', ms: 3000 }]);
    const n = primary.requests.length;
    const chain = new HedgedLlm([{ name: 'p', provider: llm(primary, 'p') }, { name: 's', provider: llm(secondary, 's') }], { settings: { ...settings, hedging: false, firstOutputTimeoutMs: 100 } });
    expect(await text(chain.stream(ask()))).toBe(ANSWER);
    await vi.waitFor(() => expect(primary.requests[n].aborted).toBe(true));
    expect(chain.health.snapshot().providers.find((p) => p.provider === 'p')!.errorsByKind).toEqual({ timeout: 1 });
  });

  for (const fault of [
    { kind: 'disconnect', afterChunks: 4 },
    { kind: 'truncate', afterChunks: 4 },
    { kind: 'malformed' },
    { kind: 'stall', afterChunks: 3 },
  ] as const) {
    it(`completes an answer interrupted by "${fault.kind}" with the next provider, each word once`, async () => {
      primary.setFaults([fault]);
      const n = secondary.requests.length;
      const chain = new HedgedLlm([{ name: 'p', provider: llm(primary, 'p') }, { name: 's', provider: llm(secondary, 's') }], { settings: { ...settings, hedging: false, stallTimeoutMs: 150 } });
      const chunks: string[] = [];
      for await (const c of chain.stream(ask())) chunks.push(c.text);
      expect(chunks.join('')).toBe(ANSWER);
      // The secondary was asked to continue the partial answer (and restarted anyway: dropped).
      const msgs = secondary.requests[n].body.messages;
      expect(msgs.at(-2).role).toBe('assistant');
      expect(ANSWER.startsWith(msgs.at(-2).content)).toBe(true);
    });
  }
});

describe('TTS over the wire', () => {
  it('OpenAI TTS hangs → Azure Speech TTS answers; only Azure audio reaches the caller', async () => {
    primary.setFaults([{ kind: 'hang' }]);
    const n = primary.requests.length;
    const c = azure.connections.length;
    const chain = new HedgedTts(
      [
        { name: 'openai', provider: new OpenAiTts({ apiKey: 'k', baseURL: primary.baseURL }) },
        { name: 'azure', provider: new AzureTts({ key: 'k', endpoint: azure.ttsEndpoint }), voice: 'en-US-JennyNeural' },
      ],
      { settings, budgetRatio: 1 },
    );
    let bytes = 0;
    for await (const a of chain.synthesize({ ctx, text: 'Hello, how can I help?', voice: 'alloy', language: 'en-US', signal: new AbortController().signal })) bytes += a.length;
    // Azure's fake sends 60 ms/char of 8 kHz μ-law: exactly this many bytes, nothing from OpenAI.
    expect(bytes).toBe('Hello, how can I help?'.length * 60 * 8);
    expect(azure.connections[c].ssml).toEqual(['Hello, how can I help?']);
    await vi.waitFor(() => expect(primary.requests[n].aborted).toBe(true));
  });

  it('OpenAI TTS drops mid-sentence → Azure synthesizes only the rest', async () => {
    primary.setFaults([{ kind: 'disconnect', afterChunks: 8 }]);
    const c = azure.connections.length;
    const sentence = 'Your appointment is confirmed for Tuesday at three in the afternoon with doctor Patel.';
    const chain = new HedgedTts(
      [
        { name: 'openai', provider: new OpenAiTts({ apiKey: 'k', baseURL: primary.baseURL }) },
        { name: 'azure', provider: new AzureTts({ key: 'k', endpoint: azure.ttsEndpoint }) },
      ],
      { settings: { ...settings, hedging: false } }, // only the failover may open an Azure connection
    );
    for await (const _ of chain.synthesize({ ctx, text: sentence, voice: 'alloy', language: 'en-US', signal: new AbortController().signal })) void _;
    expect(azure.connections.length).toBe(c + 1);
    const rest = azure.connections[c].ssml[0];
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.length).toBeLessThan(sentence.length);
    expect(sentence.endsWith(rest)).toBe(true);
  });
});

describe('STT over the wire', () => {
  it('fails over from a failing OpenAI transcription to Azure with the turn audio replayed, and stays there', async () => {
    primary.setFaults([], { kind: 'status', status: 503 });
    try {
      const chain = new HedgedStt(
        [
          { name: 'openai-stt', provider: new OpenAiStt({ apiKey: 'k', baseURL: primary.baseURL }) },
          { name: 'azure-stt', provider: new AzureStt({ key: 'k', endpoint: azure.sttEndpoint }) },
        ],
        { settings },
      );
      const s = chain.open(ctx, new AbortController().signal);
      const before = primary.requests.length;
      for (const f of testUtterance()) s.push(f.pcm, f.speech);
      expect((await s.endTurn(new AbortController().signal)).text).toBe('from azure');
      expect(primary.requests.length).toBe(before + 1);
      for (const f of testUtterance()) s.push(f.pcm, f.speech);
      expect((await s.endTurn(new AbortController().signal)).text).toBe('from azure');
      expect(primary.requests.length).toBe(before + 1); // the second turn went straight to Azure
      s.close();
    } finally {
      primary.setFaults([], { kind: 'ok' });
    }
  });

  it('the transcription upload is an 8 kHz WAV holding the turn', async () => {
    const s = new OpenAiStt({ apiKey: 'k', baseURL: secondary.baseURL }).open(ctx, new AbortController().signal);
    const n = secondary.requests.length;
    const frames = testUtterance(1000, 400);
    for (const f of frames) s.push(f.pcm, f.speech);
    expect((await s.endTurn(new AbortController().signal)).text).toBe('from the secondary');
    const up = secondary.requests[n].upload!;
    expect(up.sampleRate).toBe(8000);
    expect(up.filename).toBe('turn.wav');
    expect(up.bytes).toBe(44 + frames.length * 320); // the whole turn (speech began at frame 0)
  });
});
