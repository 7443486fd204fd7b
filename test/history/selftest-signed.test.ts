// POST /selftest on an engine that requires Twilio's signatures (TWILIO_AUTH_TOKEN, PUBLIC_HOST):
// the self-test's simulated calls sign their webhook and socket upgrade as Twilio does, so both
// legs run through the real checks and the real media path; an unsigned call is still refused.
// A file of its own: one engine per test process.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const TOKEN = 'selftest-token';
let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ WEAVER_API_TOKEN: TOKEN, TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests', PUBLIC_HOST: 'voice.example.test', HISTORY_FLUSH_MS: 20, PERFORMANCE_CACHE_ENABLED: false, RELAY_SPEAKING_CHARS_PER_S: 100_000 });
});
afterAll(async () => {
  await t?.stop();
});

describe('POST /selftest with TWILIO_AUTH_TOKEN set', () => {
  it('refuses an unsigned call, and the self-test still runs both modes with signed ones', async () => {
    await expect(simulateCall({ baseUrl: t.url, audio: new Uint8Array(800).fill(0xff) })).rejects.toThrow(/403/);

    const r = await fetch(`${t.url}/selftest`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    const report = await r.json();
    expect(report.legs.map((l: { mode: string }) => l.mode)).toEqual(['media', 'relay']);
    for (const leg of report.legs) {
      expect(leg.ok, `${leg.mode}: ${leg.error}`).toBe(true); // an unsigned leg fails at the webhook (403)
      expect(leg.turns[0].answer).toMatch(/Monday/);
    }
    // The media leg went through VAD, STT, the LLM and TTS on the engine's real socket.
    expect(report.legs[0].turns[0].stages.map((s: { stage: string }) => s.stage)).toEqual(expect.arrayContaining(['hangoverMs', 'sttMs', 'responseMs', 'ttsMs', 'turnMs']));
    expect(t.engine.registry.recentMedia.get(report.legs[0].callSid)?.turns.some((x) => x.index > 0)).toBe(true);
  }, 60_000);
});
