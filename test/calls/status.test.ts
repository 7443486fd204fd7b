// POST /twilio/status records call and stream status events in Twilio's order whatever order
// they arrive in; GET /calls/:sid joins them with the session's turns and latency breakdown.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import twilio from 'twilio';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { simulateRelayCall } from '../../bench/load/relay-sim.ts';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { CallRegistry } from '../../engine/calls/registry.ts';

const TOKEN = 'c'.repeat(32);
const HOST = 'weaver.example.com';
const API = 'status-api-token';
let t: TestEngine;

beforeAll(async () => {
  // No Twilio auth token here, so the media and relay simulators connect unsigned.
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false, WEAVER_API_TOKEN: API, PUBLIC_HOST: HOST });
});
afterAll(async () => {
  await t?.stop();
});

const status = (p: Record<string, string>) =>
  fetch(`${t.url}/twilio/status`, { method: 'POST', body: new URLSearchParams(p), headers: { 'content-type': 'application/x-www-form-urlencoded' } }).then((r) => r.status);
const view = (sid: string) => fetch(`${t.url}/calls/${sid}`, { headers: { authorization: `Bearer ${API}` } }).then(async (r) => ({ status: r.status, body: await r.json() }));

describe('status callbacks', () => {
  it('orders call status by SequenceNumber, not arrival, and drops retries', async () => {
    const sid = 'CA' + '1'.repeat(32);
    const ev = (seq: number, s: string) => ({ CallSid: sid, CallStatus: s, SequenceNumber: String(seq), Timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toUTCString(), ...(s === 'completed' ? { CallDuration: '42' } : {}) });
    for (const e of [ev(3, 'completed'), ev(1, 'ringing'), ev(0, 'queued'), ev(2, 'in-progress'), ev(1, 'ringing')]) expect(await status(e)).toBe(204);
    const v = await view(sid);
    expect(v.status).toBe(200);
    expect(v.body.status).toBe('completed');
    expect(v.body.statusEvents.map((e: any) => [e.sequence, e.status])).toEqual([
      [0, 'queued'],
      [1, 'ringing'],
      [2, 'in-progress'],
      [3, 'completed'],
    ]);
    expect(v.body.statusEvents[3].durationS).toBe(42);
  });

  it('records stream status callbacks in time order', async () => {
    const sid = 'CA' + '2'.repeat(32);
    const base = { CallSid: sid, AccountSid: 'AC1', StreamSid: 'MZ1', StreamName: 'weaver-demo' };
    expect(await status({ ...base, StreamEvent: 'stream-stopped', Timestamp: '2025-01-01T00:01:00.000Z' })).toBe(204);
    expect(await status({ ...base, StreamEvent: 'stream-error', StreamError: 'socket closed', Timestamp: '2025-01-01T00:00:59.000Z' })).toBe(204);
    expect(await status({ ...base, StreamEvent: 'stream-started', Timestamp: '2025-01-01T00:00:00.000Z' })).toBe(204);
    const v = await view(sid);
    expect(v.body.streamEvents.map((e: any) => e.event)).toEqual(['stream-started', 'stream-error', 'stream-stopped']);
    expect(v.body.streamEvents[1].error).toBe('socket closed');
  });

  it('refuses callbacks that are neither', async () => {
    expect(await status({ CallSid: 'CA3' })).toBe(400);
    expect(await status({ CallStatus: 'ringing' })).toBe(400);
  });

  it('keeps the registry bounded', () => {
    const r = new CallRegistry(3);
    for (let i = 0; i < 5; i++) r.recordStatus({ CallSid: `CA${i}`, CallStatus: 'queued', SequenceNumber: '0' });
    expect(r.get('CA0')).toBeUndefined();
    expect(r.get('CA4')?.status).toBe('queued');
  });

  it('orders events without SequenceNumber by the call lifecycle', () => {
    const r = new CallRegistry();
    for (const s of ['completed', 'ringing', 'queued']) r.recordStatus({ CallSid: 'CAx', CallStatus: s });
    expect(r.get('CAx')!.status).toBe('completed');
  });
});

describe('GET /calls/:sid', () => {
  it('returns a relay call with its turns and latency breakdown', async () => {
    const r = await simulateRelayCall({ baseUrl: t.url, workflow: 'demo-relay', steps: ['Are you open on Saturday?', 'How much is teeth whitening?'] });
    const v = await view(r.callSid);
    expect(v.status).toBe(200);
    expect(v.body).toMatchObject({ callSid: r.callSid, mode: 'relay', workflow: 'demo-relay', sessionState: 'ended' });
    expect(v.body.turns.map((x: any) => x.user)).toEqual(['Are you open on Saturday?', 'How much is teeth whitening?']);
    expect(v.body.turns[0].answer).toBe(t.engine.workflow('demo-relay')!.faq.find((e) => e.id === 'hours-saturday')!.answer);
    expect(v.body.latency.turnMs.count).toBe(2);
    expect(v.body.latency.turnMs.p50).toBeLessThanOrEqual(v.body.latency.turnMs.max);
    expect(v.body.history.map((m: any) => m.role)).toEqual(['assistant', 'user', 'assistant', 'user', 'assistant']);
  });

  it('returns a media call from engine.recent', async () => {
    const silence = new Uint8Array(8000 * 1.5).fill(0xff);
    const r = await simulateCall({ baseUrl: t.url, audio: silence, transcripts: [], dtmf: [{ atMs: 600, digit: '1' }], speed: 2, tailMs: 2500 });
    const v = await view(r.callSid);
    expect(v.status).toBe(200);
    expect(v.body.mode).toBe('media');
    expect(v.body.turns.find((x: any) => x.index === 0).source).toBe('greeting');
    expect(v.body.turns.filter((x: any) => x.index > 0).map((x: any) => x.user)).toEqual([t.engine.workflow('demo')!.dtmf['1']]);
    expect(v.body.latency.turnMs.count).toBe(1);
  });

  it('404s an unknown call', async () => {
    expect((await view('CA' + '9'.repeat(32))).status).toBe(404);
  });
});

describe('signed status callbacks', () => {
  it('are accepted when signed over https://PUBLIC_HOST/twilio/status', async () => {
    const signed = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false, TWILIO_AUTH_TOKEN: TOKEN, PUBLIC_HOST: HOST });
    try {
      const p = { CallSid: 'CAsigned', CallStatus: 'ringing', SequenceNumber: '1' };
      const sig = twilio.getExpectedTwilioSignature(TOKEN, `https://${HOST}/twilio/status`, p);
      const post = (headers: Record<string, string>) => fetch(`${signed.url}/twilio/status`, { method: 'POST', body: new URLSearchParams(p), headers }).then((r) => r.status);
      expect(await post({})).toBe(403);
      expect(await post({ 'x-twilio-signature': sig })).toBe(204);
    } finally {
      await signed.stop();
    }
  });
});
