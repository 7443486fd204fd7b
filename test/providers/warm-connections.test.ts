// Warm connections (issue 14): the HTTP adapters reuse pooled connections between requests and
// pre-connect when a call starts, without sending a request. Counted at the loopback fakes (TCP
// connections accepted, requests received) through the real clients (openai, @anthropic-ai/sdk,
// @elevenlabs/elevenlabs-js): TLS with a certificate made at run time, HTTP/2 by ALPN, and a
// WAN-delay proxy so a request can start while the pre-connect's handshake is still under way.
// No timing is asserted; bench/warm-connections.ts measures what this saves.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpPool } from '../../adapters/kit/http-pool.ts';
import { OpenAiLlm } from '../../adapters/openai/llm.ts';
import { AnthropicLlm } from '../../adapters/anthropic/llm.ts';
import { ElevenLabsTts } from '../../adapters/elevenlabs/tts.ts';
import type { CallContext, LlmProvider } from '../../adapters/kit/types.ts';
import { HedgedLlm, candidates } from '../../engine/providers/chain.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic.ts';
import { startFakeElevenLabs, type FakeElevenLabs } from '../support/fake-elevenlabs.ts';
import { selfSignedCert, type TestCert } from '../support/tls-cert.ts';
import { startWanDelay, type WanDelay } from '../support/wan-delay.ts';
import { startTestEngine, waitFor } from '../support/engine.ts';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { AzureTts } from '../../adapters/azure-speech/tts.ts';
import { startFakeAzureSpeech } from '../support/fake-azure-speech.ts';

const ctx: CallContext = { callId: 'c1', workflow: 'w', language: 'en-US', parameters: {} };
const ask = async (llm: LlmProvider, q = 'hello?') => {
  let text = '';
  for await (const c of llm.stream({ ctx, messages: [{ role: 'user', content: q }], signal: new AbortController().signal })) text += c.text;
  return text;
};

/** Waits until the pool has the answer's connection back (undici frees it just after the body ends). */
const idle = (http: HttpPool) => vi.waitFor(() => expect(Object.values(http.agent.stats).some((s) => Number((s as { free?: number }).free) > 0)).toBe(true));

let cert: TestCert;
let h1: FakeOpenAi;
let h2: FakeOpenAi;
let wan: WanDelay;
const pools: HttpPool[] = [];
const pool = () => {
  const p = new HttpPool({ ca: cert.cert });
  pools.push(p);
  return p;
};

beforeAll(async () => {
  cert = selfSignedCert();
  h1 = await startFakeOpenAi({ tls: { ...cert } });
  h2 = await startFakeOpenAi({ tls: { ...cert, http2: true } });
  wan = await startWanDelay({ host: '127.0.0.1', port: h1.port }, 200);
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await Promise.all([h1?.close(), h2?.close(), wan?.close()]);
});

describe('OpenAI over TLS', () => {
  it('two sequential requests of one provider use one TLS connection (HTTP/1.1 keep-alive)', async () => {
    const before = h1.connections;
    const http = pool();
    const llm = new OpenAiLlm({ apiKey: 'k', baseURL: h1.baseURL, model: 'm', http });
    expect(await ask(llm)).toMatch(/fake model/);
    await idle(http); // turns are seconds apart: the connection is back in the pool by the next one
    expect(await ask(llm)).toMatch(/fake model/);
    expect(h1.connections - before).toBe(1);
    expect(http.stats.connects).toBe(1);
    expect(h1.requests.at(-1)!.httpVersion).toBe('1.1');
  });

  it('the call-start warm-up opens the connection before the first request, sends no request, and the first request uses it', async () => {
    const before = { connections: h1.connections, requests: h1.requests.length };
    const http = pool();
    const llm = new OpenAiLlm({ apiKey: 'k', baseURL: h1.baseURL, model: 'm', http });
    await llm.onCallStart();
    expect(h1.connections - before.connections).toBe(1);
    expect(h1.requests.length - before.requests).toBe(0); // nothing billed: no HTTP request at all
    expect(await ask(llm)).toMatch(/fake model/);
    expect(h1.connections - before.connections).toBe(1);
    expect(http.stats).toMatchObject({ preconnects: 1, preconnectsUsed: 1, connects: 0 });
  });

  it('a warm-up finds an idle connection and opens no other; with every connection busy it opens a spare', async () => {
    const before = h1.connections;
    const http = pool();
    const llm = new OpenAiLlm({ apiKey: 'k', baseURL: h1.baseURL, model: 'm', http });
    await ask(llm);
    await idle(http);
    await llm.onCallStart();
    expect(http.stats).toMatchObject({ preconnects: 0, preconnectsSkipped: 1 });
    expect(h1.connections - before).toBe(1);
    // Another call starts while this one's answer holds the only connection.
    h1.setFaults([{ kind: 'slow-first', ms: 300 }]);
    const busy = ask(llm);
    await vi.waitFor(() => expect(h1.requests.at(-1)!.fault.kind).toBe('slow-first'));
    await llm.onCallStart();
    expect(http.stats.preconnects).toBe(1);
    expect(h1.connections - before).toBe(2);
    await busy;
  });

  it('a request that starts during the warm-up handshake (200 ms away) waits for that connection instead of opening a second', async () => {
    const before = wan.connections;
    const http = pool();
    const llm = new OpenAiLlm({ apiKey: 'k', baseURL: `https://127.0.0.1:${wan.port}/v1`, model: 'm', http });
    const warming = llm.onCallStart();
    const answer = ask(llm); // the handshake takes two round trips: it is still under way
    expect(await answer).toMatch(/fake model/);
    await warming;
    expect(wan.connections - before).toBe(1);
    expect(http.stats).toMatchObject({ preconnects: 1, preconnectsUsed: 1, connects: 0 });
  });

  it('a connection a request took from a warm-up still under way outlives the warm-up\'s idle limit', async () => {
    const before = wan.connections;
    const http = new HttpPool({ ca: cert.cert, parkedMs: 50 });
    pools.push(http);
    const llm = new OpenAiLlm({ apiKey: 'k', baseURL: `https://127.0.0.1:${wan.port}/v1`, model: 'm', http });
    void llm.onCallStart();
    expect(await ask(llm)).toMatch(/fake model/); // took the socket mid-handshake
    await new Promise((r) => setTimeout(r, 150)); // past parkedMs: an unused parked socket would be closed by now
    expect(await ask(llm)).toMatch(/fake model/);
    expect(wan.connections - before).toBe(1);
    expect(http.stats).toMatchObject({ preconnectsUsed: 1, connects: 0 });
  });

  it('HTTP/2 when enabled and the server offers it: the warm-up negotiates it and the requests reuse that connection', async () => {
    const before = h2.connections;
    const http = new HttpPool({ ca: cert.cert, http2: true });
    pools.push(http);
    const llm = new OpenAiLlm({ apiKey: 'k', baseURL: h2.baseURL, model: 'm', http });
    await llm.onCallStart();
    for (const q of ['one', 'two', 'three']) {
      expect(await ask(llm, q)).toMatch(/fake model/);
      await idle(http);
    }
    expect(h2.connections - before).toBe(1);
    expect(h2.requests.slice(-3).map((r) => r.httpVersion)).toEqual(['2.0', '2.0', '2.0']);
    // (undici puts a POST on a busy HTTP/2 connection's side only when it may be retried, so
    // concurrent provider requests still take a connection each, as on HTTP/1.1.)
  });

  it('HTTP/1.1 by default, even where the server offers HTTP/2', async () => {
    const http = pool();
    expect(await ask(new OpenAiLlm({ apiKey: 'k', baseURL: h2.baseURL, model: 'm', http }))).toMatch(/fake model/);
    expect(h2.requests.at(-1)!.httpVersion).toBe('1.1');
  });

  it('without a trusted certificate the warm-up fails quietly and the request reports a clear error', async () => {
    const http = new HttpPool(); // the test certificate is not trusted
    pools.push(http);
    const llm = new OpenAiLlm({ apiKey: 'k', baseURL: h1.baseURL, model: 'm', http });
    await expect(llm.onCallStart()).resolves.toBeUndefined();
    await expect(ask(llm)).rejects.toMatchObject({ kind: 'server' });
  });

  it('a chain warms every candidate at call start: a hedge or failover pays no handshake either', async () => {
    const other = await startFakeOpenAi({ tls: { ...cert } });
    try {
      const before = { a: h1.connections, b: other.connections };
      const http = pool();
      const chain = new HedgedLlm(candidates([new OpenAiLlm({ apiKey: 'k', baseURL: h1.baseURL, model: 'a', http, name: 'a' }), new OpenAiLlm({ apiKey: 'k', baseURL: other.baseURL, model: 'b', http, name: 'b' })]));
      await chain.onCallStart(ctx);
      expect([h1.connections - before.a, other.connections - before.b]).toEqual([1, 1]);
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});

describe('Anthropic and ElevenLabs clients through the pool', () => {
  let anthropic: FakeAnthropic;
  let eleven: FakeElevenLabs;
  beforeAll(async () => {
    anthropic = await startFakeAnthropic({ apiKey: 'sk-ant' });
    eleven = await startFakeElevenLabs({ apiKey: 'xi' });
  });
  afterAll(async () => {
    await Promise.all([anthropic?.close(), eleven?.close()]);
  });

  it('Anthropic: warm-up connects without a request; two answers reuse that one connection', async () => {
    const http = pool();
    const llm = new AnthropicLlm({ apiKey: 'sk-ant', baseURL: anthropic.baseURL, http });
    await llm.onCallStart();
    expect([anthropic.connections, anthropic.requests.length]).toEqual([1, 0]);
    expect(await ask(llm)).not.toBe('');
    await idle(http);
    expect(await ask(llm)).not.toBe('');
    expect([anthropic.connections, anthropic.requests.length]).toEqual([1, 2]);
  });

  it('ElevenLabs: warm-up connects without a request; two sentences reuse that one connection', async () => {
    const http = pool();
    const tts = new ElevenLabsTts({ apiKey: 'xi', baseURL: eleven.baseURL, voice: 'v1', http });
    await tts.onCallStart();
    expect([eleven.connections, eleven.requests.length]).toEqual([1, 0]);
    for (const text of ['First sentence.', 'Second sentence.']) {
      let bytes = 0;
      for await (const b of tts.synthesize({ ctx, text, voice: 'v1', language: 'en-US', signal: new AbortController().signal })) bytes += b.length;
      expect(bytes).toBeGreaterThan(0);
      await idle(http);
    }
    expect([eleven.connections, eleven.requests.length]).toEqual([1, 2]);
  });
});

describe('in the engine', () => {
  it('a relay call pre-connects its LLM chain when it starts, and the first turn reuses that connection', async () => {
    const fake = await startFakeOpenAi({ reply: 'We open at nine.' });
    const te = await startTestEngine({ WEAVER_LLM_CHAIN: JSON.stringify([{ provider: 'openai', apiKey: 'k', baseURL: fake.baseURL, model: 'm' }]), PERFORMANCE_CACHE_ENABLED: false });
    const caller = new RelayCaller({ baseUrl: te.url, workflow: 'demo-relay' });
    try {
      await caller.connect();
      await waitFor(() => fake.connections === 1, 'the call-start pre-connect');
      const before = fake.requests.filter((r) => r.route === 'chat').length;
      const r = await caller.turn('When do you open?');
      expect(r.answer.trim()).toBe('We open at nine.');
      expect(fake.requests.filter((x) => x.route === 'chat').length - before).toBe(1);
      expect(fake.connections).toBe(1);
    } finally {
      await caller.hangup().catch(() => {});
      await te.stop();
      await fake.close();
    }
  }, 60_000);
});

describe('Azure Speech synthesis', () => {
  it('keeps a finished synthesizer connected for the next sentence, and a call start opens one in advance', async () => {
    const fake = await startFakeAzureSpeech();
    const tts = new AzureTts({ key: 'k', endpoint: fake.ttsEndpoint });
    const speak = async (text: string) => {
      let bytes = 0;
      for await (const b of tts.synthesize({ ctx, text, voice: 'en-US-JennyNeural', language: 'en-US', signal: new AbortController().signal })) bytes += b.length;
      return bytes;
    };
    try {
      await tts.onCallStart();
      expect(fake.connections.filter((c) => c.kind === 'tts').map((c) => c.ssml.length)).toEqual([0]); // connected, nothing asked
      expect(await speak('First sentence.')).toBeGreaterThan(0);
      expect(await speak('Second sentence.')).toBeGreaterThan(0);
      expect(fake.connections.filter((c) => c.kind === 'tts').map((c) => c.ssml)).toEqual([['First sentence.', 'Second sentence.']]);
      // A sentence cut by an abort closes its synthesizer: the next sentence connects anew.
      const ac = new AbortController();
      const cut = (async () => {
        for await (const _ of tts.synthesize({ ctx, text: 'A long sentence that the caller interrupts halfway through.', voice: 'en-US-JennyNeural', language: 'en-US', signal: ac.signal })) ac.abort();
      })();
      await expect(cut).rejects.toMatchObject({ kind: 'aborted' });
      expect(await speak('Third sentence.')).toBeGreaterThan(0);
      expect(fake.connections.filter((c) => c.kind === 'tts').map((c) => c.ssml.length)).toEqual([3, 1]);
    } finally {
      await tts.close();
      await fake.close();
    }
  });
});
