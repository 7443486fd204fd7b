// The Deepgram adapter with the real `ws` client against the loopback fake of Deepgram's
// streaming protocol (test/support/fake-deepgram.ts): the conformance suite, then what goes on
// the wire, Finalize, detected language, faults mid-stream, and its registration.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSttConformance } from '../../adapters/testkit/conformance.ts';
import { testUtterance } from '../../adapters/testkit/checks.ts';
import { DeepgramStt } from '../../adapters/deepgram/stt.ts';
import { ProviderError, type SttStream } from '../../adapters/kit/types.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { loadConfig } from '../../engine/config.ts';
import { parseWorkflow } from '../../engine/workflow.ts';
import { startFakeDeepgram, type DeepgramFault, type FakeDeepgram } from '../support/fake-deepgram.ts';

const many = (f: DeepgramFault) => Array.from({ length: 20 }, () => f);
let ok: FakeDeepgram;
let limited: FakeDeepgram;
let netError: FakeDeepgram;
let badAudio: FakeDeepgram;
let dropped: FakeDeepgram;
let silent: FakeDeepgram;

beforeAll(async () => {
  ok = await startFakeDeepgram({ key: 'dg-key', transcripts: [{ text: 'I would like to move my appointment', language: 'en-US' }] });
  limited = await startFakeDeepgram({ faults: many({ kind: 'reject', status: 429, error: 'Too many requests', retryAfter: '2' }) });
  netError = await startFakeDeepgram({ faults: many({ kind: 'close', afterFrames: 3, code: 1011, reason: 'NET-0000' }) });
  badAudio = await startFakeDeepgram({ faults: many({ kind: 'close', afterFrames: 3, code: 1008, reason: 'DATA-0000' }) });
  dropped = await startFakeDeepgram({ faults: many({ kind: 'drop', afterFrames: 3 }) });
  silent = await startFakeDeepgram({ faults: many({ kind: 'silent' }) });
});
afterAll(async () => {
  await Promise.all([ok, limited, netError, badAudio, dropped, silent].map((f) => f?.close()));
});

const stt = (f: () => FakeDeepgram, apiKey = 'dg-key', extra: Partial<ConstructorParameters<typeof DeepgramStt>[0]> = {}) => () => new DeepgramStt({ apiKey, url: f().url, ...extra });
describeSttConformance('deepgram', stt(() => ok), {
  expectText: /move my appointment/,
  expectInterim: true,
  upstream: { hold: () => {}, release: () => {}, open: () => ok.probe.open() },
  failures: [
    { name: 'bad key (HTTP 401 at upgrade)', kind: 'auth', make: stt(() => ok, 'wrong') },
    { name: 'HTTP 429 with retry-after: 2', kind: 'rate_limited', make: stt(() => limited), retryAfterMs: 2000 },
    { name: 'close 1011 NET-0000 mid-stream', kind: 'server', make: stt(() => netError) },
    { name: 'close 1008 DATA-0000 (undecodable audio)', kind: 'bad_request', make: stt(() => badAudio) },
    { name: 'TCP connection dropped mid-stream', kind: 'server', make: stt(() => dropped) },
    { name: 'a service that never answers', kind: 'timeout', make: stt(() => silent, 'k', { finalWaitMs: 300 }) },
    { name: 'connection refused', kind: 'server', make: () => new DeepgramStt({ apiKey: 'k', url: 'ws://127.0.0.1:9/v1/listen' }) },
  ],
  invalid: [
    { name: 'no apiKey', make: () => new DeepgramStt({ apiKey: '' }) },
    { name: 'url not ws(s)://', make: () => new DeepgramStt({ apiKey: 'k', url: 'https://api.deepgram.com/v1/listen' }) },
    { name: 'endpointingMs 5', make: () => new DeepgramStt({ apiKey: 'k', endpointingMs: 5 }) },
    { name: 'utteranceEndMs 500 (Deepgram needs ≥ 1000)', make: () => new DeepgramStt({ apiKey: 'k', utteranceEndMs: 500 }) },
  ],
});

const ctx = (language = 'en-US') => ({ callId: 'c1', workflow: 'w', language, parameters: {} });
const feed = (s: SttStream, frames = testUtterance(1200, 600)) => {
  for (const f of frames) s.push(f.pcm, f.speech);
  return frames.reduce((n, f) => n + f.pcm.length, 0);
};

describe('deepgram on the wire', () => {
  it('connects with the key as a Token header and the audio format as query parameters, queueing audio until open', async () => {
    const before = ok.connections.length;
    const s = new DeepgramStt({ apiKey: 'dg-key', url: ok.url, endpointingMs: 250 }).open(ctx('en-GB'), new AbortController().signal);
    const pushed = feed(s); // while the socket is still connecting
    const r = await s.endTurn(new AbortController().signal);
    s.close();
    expect(r.text).toBe('I would like to move my appointment');
    const c = ok.connections[before];
    expect(c.auth).toBe('Token dg-key');
    expect(c.query).toMatchObject({ encoding: 'linear16', sample_rate: '8000', channels: '1', model: 'nova-3', language: 'en-GB', interim_results: 'true', endpointing: '250', utterance_end_ms: '1000', vad_events: 'true' });
    expect(c.samples).toBe(pushed); // nothing lost while connecting
  });

  it('asks for the rest with Finalize when the turn ends before Deepgram endpointed', async () => {
    const before = ok.connections.length;
    const s = new DeepgramStt({ apiKey: 'dg-key', url: ok.url }).open(ctx(), new AbortController().signal);
    const interim: string[] = [];
    s.onInterim = (t) => interim.push(t);
    feed(s, testUtterance(1500, 0)); // speech, no trailing silence: no speech_final yet
    const r = await s.endTurn(new AbortController().signal);
    s.close();
    expect(ok.connections[before].controls).toContain('Finalize');
    expect(ok.connections[before].sent).toContain('Results:from_finalize');
    expect(r.text).toBe('I would like to move my appointment');
    expect(interim.length).toBeGreaterThan(0);
    expect(r.text.startsWith(interim[0])).toBe(true);
  });

  it('reports the detected language with language=multi', async () => {
    const fake = await startFakeDeepgram({ transcripts: [{ text: 'quiero cambiar mi cita', language: 'es' }] });
    try {
      const s = new DeepgramStt({ apiKey: 'k', url: fake.url, language: 'multi' }).open(ctx(), new AbortController().signal);
      feed(s);
      const r = await s.endTurn(new AbortController().signal);
      s.close();
      expect(fake.connections[0].query.language).toBe('multi');
      expect(r).toMatchObject({ text: 'quiero cambiar mi cita', language: 'es' });
    } finally {
      await fake.close();
    }
  });

  it('close() sends CloseStream and closes the socket; two turns on one socket stay apart', async () => {
    const before = ok.connections.length;
    const s = new DeepgramStt({ apiKey: 'dg-key', url: ok.url }).open(ctx(), new AbortController().signal);
    feed(s);
    const first = await s.endTurn(new AbortController().signal);
    feed(s);
    const second = await s.endTurn(new AbortController().signal);
    expect([first.text, second.text]).toEqual(['I would like to move my appointment', 'I would like to move my appointment']);
    s.close();
    await expect.poll(() => ok.connections[before].closed).toBe(true);
    expect(ok.connections[before].controls).toContain('CloseStream');
  });

  it('an error mid-call fails the turn with the close code named', async () => {
    const s = new DeepgramStt({ apiKey: 'k', url: netError.url }).open(ctx(), new AbortController().signal);
    feed(s);
    const e = await s.endTurn(new AbortController().signal).then(() => undefined, (x) => x);
    s.close();
    expect(e).toBeInstanceOf(ProviderError);
    expect((e as ProviderError).message).toMatch(/1011 NET-0000/);
  });
});

describe('deepgram in the registry', () => {
  const wf = (stt: object[]) => parseWorkflow({ id: 'demo', providers: { stt } }, 'test');
  it('names DEEPGRAM_API_KEY when the key is missing, validates the url, and builds from the env', () => {
    expect(() => buildProviders(wf([{ provider: 'deepgram' }]), loadConfig({}))).toThrow('stt[0] deepgram: apiKey missing: set DEEPGRAM_API_KEY or providers.stt[0].apiKey');
    expect(() => buildProviders(wf([{ provider: 'deepgram', apiKey: 'k', url: 'https://x' }]), loadConfig({}))).toThrow('url "https://x" must use wss or ws');
    const p = buildProviders(wf([{ provider: 'deepgram', model: 'nova-2' }]), loadConfig({ DEEPGRAM_API_KEY: 'k', DEEPGRAM_URL: ok.url }));
    expect(p.stt.name).toBe('deepgram/nova-2');
  });
});
