// The ElevenLabs adapter with the real @elevenlabs/elevenlabs-js client against the loopback fake
// of its streaming endpoint (test/support/fake-elevenlabs.ts): the conformance suite, then the
// request on the wire, faults the suite does not cover, and its registration.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTtsConformance } from '../../adapters/testkit/conformance.ts';
import { ElevenLabsTts } from '../../adapters/elevenlabs/tts.ts';
import { ProviderError, type TtsProvider } from '../../adapters/kit/types.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { loadConfig } from '../../engine/config.ts';
import { parseWorkflow } from '../../engine/workflow.ts';
import { startFakeElevenLabs, type FakeElevenLabs } from '../support/fake-elevenlabs.ts';

const VOICE = 'JBFqnCBsd6RMkjVDRZzb';
let ok: FakeElevenLabs;
let faulty: FakeElevenLabs;
let e429: FakeElevenLabs;
let e500: FakeElevenLabs;
let broken: FakeElevenLabs;

beforeAll(async () => {
  ok = await startFakeElevenLabs({ apiKey: 'xi-test', voices: [VOICE] });
  faulty = await startFakeElevenLabs();
  e429 = await startFakeElevenLabs({ defaultFault: { kind: 'status', status: 429, retryAfter: '4' } });
  e500 = await startFakeElevenLabs({ defaultFault: { kind: 'status', status: 500 } });
  broken = await startFakeElevenLabs({ defaultFault: { kind: 'disconnect', afterChunks: 2 } });
});
afterAll(async () => {
  await Promise.all([ok, faulty, e429, e500, broken].map((f) => f?.close()));
});

const tts = (f: () => FakeElevenLabs, apiKey = 'xi-test') => () => new ElevenLabsTts({ apiKey, baseURL: f().baseURL });
describeTtsConformance('elevenlabs', tts(() => ok), {
  voice: VOICE,
  upstream: { hold: () => ok.probe.hold(), release: () => ok.probe.release(), open: () => ok.probe.open() },
  failures: [
    { name: 'bad key (401 invalid_api_key)', kind: 'auth', make: tts(() => ok, 'wrong') },
    { name: 'HTTP 429 with retry-after: 4', kind: 'rate_limited', make: tts(() => e429), retryAfterMs: 4000 },
    { name: 'HTTP 500', kind: 'server', make: tts(() => e500) },
    { name: 'connection dropped mid-audio', kind: 'server', make: tts(() => broken) },
    { name: 'connection refused', kind: 'server', make: () => new ElevenLabsTts({ apiKey: 'k', baseURL: 'http://127.0.0.1:9' }) },
  ],
  invalid: [
    { name: 'no apiKey', make: () => new ElevenLabsTts({ apiKey: '' }) },
    { name: 'baseURL not http(s)', make: () => new ElevenLabsTts({ apiKey: 'k', baseURL: 'wss://api.elevenlabs.io' }) },
    { name: 'speed 2 (ElevenLabs allows 0.7..1.2)', make: () => new ElevenLabsTts({ apiKey: 'k', speed: 2 }) },
    { name: 'stability 1.5', make: () => new ElevenLabsTts({ apiKey: 'k', stability: 1.5 }) },
  ],
});

const ctx = { callId: 'c1', workflow: 'w', language: 'es-ES', parameters: {} };
async function collect(p: TtsProvider, o: { voice?: string; language?: string; signal?: AbortSignal } = {}): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of p.synthesize({ ctx, text: 'Hola, ¿en qué puedo ayudarle?', voice: o.voice ?? VOICE, language: o.language ?? 'es-ES', signal: o.signal ?? new AbortController().signal })) parts.push(c);
  return Buffer.concat(parts);
}

describe('elevenlabs on the wire', () => {
  it('asks for ulaw_8000 with the key, voice, model, language code and voice settings, and passes the bytes through', async () => {
    const before = ok.requests.length;
    const audio = await collect(new ElevenLabsTts({ apiKey: 'xi-test', baseURL: ok.baseURL, stability: 0.4, speed: 1.1 }));
    const r = ok.requests[before];
    expect(r.headers['xi-api-key']).toBe('xi-test');
    expect(r.voiceId).toBe(VOICE);
    expect(r.query.output_format).toBe('ulaw_8000');
    expect(r.body).toMatchObject({ text: 'Hola, ¿en qué puedo ayudarle?', model_id: 'eleven_flash_v2_5', language_code: 'es', voice_settings: { stability: 0.4, speed: 1.1 } });
    expect(audio.length).toBe('Hola, ¿en qué puedo ayudarle?'.length * 60 * 8); // every byte the fake sent (60 ms a character), unconverted
  });

  it('sends no language_code to a multilingual_v2 model (the API refuses it there)', async () => {
    const before = ok.requests.length;
    await collect(new ElevenLabsTts({ apiKey: 'xi-test', baseURL: ok.baseURL, modelId: 'eleven_multilingual_v2' }));
    expect(ok.requests[before].body).not.toHaveProperty('language_code');
  });

  it('an unknown voice is a bad_request (404 voice_not_found), not retried elsewhere as a server fault', async () => {
    const e = await collect(new ElevenLabsTts({ apiKey: 'xi-test', baseURL: ok.baseURL }), { voice: 'nope' }).then(() => undefined, (x) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect((e as ProviderError).kind).toBe('bad_request');
    expect((e as ProviderError).message).toMatch(/voice_not_found/);
  });

  it('uses the configured voice when the request names none; none at all is bad_request', async () => {
    const before = ok.requests.length;
    await collect(new ElevenLabsTts({ apiKey: 'xi-test', baseURL: ok.baseURL, voice: VOICE }), { voice: '' });
    expect(ok.requests[before].voiceId).toBe(VOICE);
    const e = await collect(new ElevenLabsTts({ apiKey: 'xi-test', baseURL: ok.baseURL }), { voice: '' }).then(() => undefined, (x) => x);
    expect((e as ProviderError).kind).toBe('bad_request');
  });

  it('a slow first chunk still streams; a stall ends on abort with the connection closed', async () => {
    faulty.setFaults([{ kind: 'slow-first', ms: 150 }, { kind: 'stall', afterChunks: 2 }]);
    const p = new ElevenLabsTts({ apiKey: 'k', baseURL: faulty.baseURL });
    expect((await collect(p)).length).toBeGreaterThan(0);
    const ac = new AbortController();
    let chunks = 0;
    const e = await (async () => {
      for await (const _ of p.synthesize({ ctx, text: 'A sentence long enough to stall.', voice: VOICE, language: 'en-US', signal: ac.signal })) {
        chunks++;
        if (chunks === 2) setTimeout(() => ac.abort(), 20); // the server stalls after these two
      }
    })().then(() => undefined, (x) => x);
    expect((e as ProviderError).kind).toBe('aborted');
    expect(chunks).toBe(2);
    await expect.poll(() => faulty.requests[faulty.requests.length - 1].aborted).toBe(true);
  });

  it('a hang before the headers ends as timeout when timeoutMs passes', async () => {
    faulty.setFaults([{ kind: 'hang' }]);
    const e = await collect(new ElevenLabsTts({ apiKey: 'k', baseURL: faulty.baseURL, timeoutMs: 200 })).then(() => undefined, (x) => x);
    expect((e as ProviderError).kind).toBe('timeout');
  });
});

describe('elevenlabs in the registry', () => {
  const wf = (tts: object[]) => parseWorkflow({ id: 'demo', providers: { tts } }, 'test');
  it('names ELEVENLABS_API_KEY when the key is missing, and builds from the env', () => {
    expect(() => buildProviders(wf([{ provider: 'elevenlabs' }]), loadConfig({}))).toThrow('tts[0] elevenlabs: apiKey missing: set ELEVENLABS_API_KEY or providers.tts[0].apiKey');
    expect(() => buildProviders(wf([{ provider: 'elevenlabs', apiKey: 'k', speed: 3 }]), loadConfig({}))).toThrow('speed must be a number ≥ 0.7 ≤ 1.2');
    const p = buildProviders(wf([{ provider: 'elevenlabs', voice: VOICE, modelId: 'eleven_turbo_v2_5' }]), loadConfig({ ELEVENLABS_API_KEY: 'k', ELEVENLABS_BASE_URL: ok.baseURL }));
    expect(p.tts.name).toBe('elevenlabs/eleven_turbo_v2_5');
  });
});
