// The conformance suite on the OpenAI and Azure OpenAI adapters, with the real `openai` client
// talking to the loopback fake (test/support/fake-openai.ts).
import { afterAll, beforeAll } from 'vitest';
import { describeLlmConformance, describeSttConformance, describeTtsConformance } from '../../adapters/testkit/conformance.ts';
import { OpenAiLlm } from '../../adapters/openai/llm.ts';
import { OpenAiStt } from '../../adapters/openai/stt.ts';
import { OpenAiTts } from '../../adapters/openai/tts.ts';
import { AzureOpenAiLlm } from '../../adapters/azure-openai/llm.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';

let ok: FakeOpenAi; // healthy server (key "sk-test")
let e500: FakeOpenAi;
let e429: FakeOpenAi;
let broken: FakeOpenAi; // disconnects mid-stream

beforeAll(async () => {
  ok = await startFakeOpenAi({ apiKey: 'sk-test', transcript: 'I would like to book an appointment' });
  e500 = await startFakeOpenAi({ defaultFault: { kind: 'status', status: 500 } });
  e429 = await startFakeOpenAi({ defaultFault: { kind: 'status', status: 429, retryAfter: '2' } });
  broken = await startFakeOpenAi({ defaultFault: { kind: 'disconnect', afterChunks: 2 } });
});
afterAll(async () => {
  await Promise.all([ok, e500, e429, broken].map((f) => f?.close()));
});

const llm = (f: () => FakeOpenAi, apiKey = 'sk-test') => () => new OpenAiLlm({ apiKey, baseURL: f().baseURL, model: 'gpt-fake' });
describeLlmConformance('openai', llm(() => ok), {
  failures: [
    { name: 'HTTP 500', kind: 'server', make: llm(() => e500) },
    { name: 'HTTP 429', kind: 'rate_limited', make: llm(() => e429) },
    { name: 'bad key (401)', kind: 'auth', make: llm(() => ok, 'sk-wrong') },
    { name: 'disconnect mid-stream', kind: 'server', make: llm(() => broken) },
    { name: 'connection refused', kind: 'server', make: () => new OpenAiLlm({ apiKey: 'x', baseURL: 'http://127.0.0.1:9/v1', model: 'm' }) },
  ],
});

const azure = (f: () => FakeOpenAi, apiKey = 'sk-test') => () => new AzureOpenAiLlm({ apiKey, endpoint: f().origin, deployment: 'dep-fake', apiVersion: '2024-10-21' });
describeLlmConformance('azure-openai', azure(() => ok), {
  failures: [
    { name: 'HTTP 500', kind: 'server', make: azure(() => e500) },
    { name: 'bad key (401)', kind: 'auth', make: azure(() => ok, 'wrong') },
  ],
});

const tts = (f: () => FakeOpenAi, format: 'pcm' | 'wav' = 'pcm', apiKey = 'sk-test') => () => new OpenAiTts({ apiKey, baseURL: f().baseURL, model: 'tts-fake', format });
describeTtsConformance('openai tts (pcm)', tts(() => ok), {
  voice: 'alloy',
  failures: [
    { name: 'HTTP 500', kind: 'server', make: tts(() => e500) },
    { name: 'HTTP 429', kind: 'rate_limited', make: tts(() => e429) },
    { name: 'bad key (401)', kind: 'auth', make: tts(() => ok, 'pcm', 'nope') },
    { name: 'disconnect mid-stream', kind: 'server', make: tts(() => broken) },
  ],
});
describeTtsConformance('openai tts (wav)', tts(() => ok, 'wav'), { voice: 'alloy' });

const stt = (f: () => FakeOpenAi, apiKey = 'sk-test') => () => new OpenAiStt({ apiKey, baseURL: f().baseURL, model: 'whisper-fake' });
describeSttConformance('openai stt', stt(() => ok), {
  expectText: /book an appointment/,
  failures: [
    { name: 'HTTP 500', kind: 'server', make: stt(() => e500) },
    { name: 'HTTP 429', kind: 'rate_limited', make: stt(() => e429) },
    { name: 'bad key (401)', kind: 'auth', make: stt(() => ok, 'nope') },
  ],
});
