// The conformance suite on the Azure Speech adapters: the real microsoft-cognitiveservices-
// speech-sdk against the loopback fake of the service's WebSocket protocol.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSttConformance, describeTtsConformance } from '../../adapters/testkit/conformance.ts';
import { testUtterance } from '../../adapters/testkit/checks.ts';
import { AzureStt } from '../../adapters/azure-speech/stt.ts';
import { AzureTts } from '../../adapters/azure-speech/tts.ts';
import { startFakeAzureSpeech, type FakeAzureSpeech } from '../support/fake-azure-speech.ts';

let fake: FakeAzureSpeech;
let dropping: FakeAzureSpeech;
beforeAll(async () => {
  fake = await startFakeAzureSpeech({ key: 'az-key', transcripts: Array.from({ length: 50 }, () => ({ text: 'I need to reschedule my visit', language: 'en-US' })) });
  dropping = await startFakeAzureSpeech({ faults: Array.from({ length: 20 }, () => ({ kind: 'drop' as const, afterFrames: 1 })) });
});
afterAll(async () => {
  await fake?.close();
  await dropping?.close();
});

const stt = (key = 'az-key', ep = () => fake.sttEndpoint) => () => new AzureStt({ key, endpoint: ep(), languages: ['en-US', 'es-ES'] });
describeSttConformance('azure-speech stt', stt(), {
  expectText: /reschedule/,
  failures: [{ name: 'bad key (HTTP 401 at upgrade)', kind: 'auth', make: stt('wrong') }],
});

const tts = (key = 'az-key', ep = () => fake.ttsEndpoint) => () => new AzureTts({ key, endpoint: ep() });
describeTtsConformance('azure-speech tts', tts(), {
  voice: 'en-US-JennyNeural',
  failures: [
    { name: 'bad key (HTTP 401 at upgrade)', kind: 'auth', make: tts('wrong') },
    { name: 'socket dropped mid-synthesis', kind: 'server', make: tts('k', () => dropping.ttsEndpoint) },
  ],
});

describe('azure-speech adapters on the wire', () => {
  it('STT streams 8 kHz 16-bit audio, reports interim results and the detected language', async () => {
    const p = new AzureStt({ key: 'az-key', endpoint: fake.sttEndpoint, languages: ['en-US', 'es-ES'] });
    const s = p.open({ callId: 'c1', workflow: 'w', language: 'en-US', parameters: {} }, new AbortController().signal);
    const interim: string[] = [];
    s.onInterim = (t) => interim.push(t);
    const before = fake.connections.length;
    for (const f of testUtterance(1500, 600)) s.push(f.pcm, f.speech);
    const r = await s.endTurn(new AbortController().signal);
    s.close();
    expect(r.text).toBe('I need to reschedule my visit');
    expect(r.language).toBe('en-US');
    expect(interim.length).toBeGreaterThan(0);
    expect(r.text.startsWith(interim[0])).toBe(true);
    const conn = fake.connections[before];
    expect(conn.kind).toBe('stt');
    expect(conn.samples).toBeGreaterThanOrEqual(8000); // the audio reached the service as 8 kHz PCM16
    expect(conn.messages.map((m) => m.path)).toContain('speech.context');
  });

  it('TTS asks for raw 8 kHz μ-law and sends the text as SSML with the voice', async () => {
    const p = new AzureTts({ key: 'az-key', endpoint: fake.ttsEndpoint });
    const before = fake.connections.length;
    const chunks: Uint8Array[] = [];
    for await (const c of p.synthesize({ ctx: { callId: 'c', workflow: 'w', language: 'en-US', parameters: {} }, text: 'Fish & chips <today>', voice: 'en-GB-RyanNeural', language: 'en-GB', signal: new AbortController().signal })) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(1); // streamed, not one buffer at the end
    expect(fake.connections[before].ssml).toEqual(['Fish &amp; chips &lt;today&gt;']);
  });
});
