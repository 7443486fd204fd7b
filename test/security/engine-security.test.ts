// A deployment with TWILIO_AUTH_TOKEN set: every webhook and both WebSocket upgrades need a
// valid X-Twilio-Signature (made here by twilio-node, as Twilio would); anything else gets 403
// before any work is done.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import twilio from 'twilio';
import WebSocket from 'ws';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { simulateRelayCall } from '../../bench/load/relay-sim.ts';

const TOKEN = 'f3c8b2a1d4e5f60718293a4b5c6d7e8f';
const HOST = 'weaver.example.com';
let t: TestEngine;

beforeAll(async () => {
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false, TWILIO_AUTH_TOKEN: TOKEN, PUBLIC_HOST: HOST, WEAVER_API_TOKEN: 'api-token-123' });
});
afterAll(async () => {
  await t?.stop();
});

const form = { CallSid: 'CAsec1', AccountSid: 'AC1', From: '+15550001111', To: '+15550002222', CallStatus: 'ringing' };
const post = (path: string, params: Record<string, string>, signature?: string) =>
  fetch(t.url + path, {
    method: 'POST',
    body: new URLSearchParams(params),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature ? { 'x-twilio-signature': signature } : {}) },
  }).then(async (r) => ({ status: r.status, body: await r.text() }));
const sign = (url: string, params: Record<string, string> = {}) => twilio.getExpectedTwilioSignature(TOKEN, url, params);

/** Opens a WebSocket; resolves with 'open' or the HTTP status of the refused upgrade. */
const upgrade = (path: string, signature?: string) =>
  new Promise<number | 'open'>((resolve, reject) => {
    const ws = new WebSocket(t.url.replace(/^http/, 'ws') + path, { headers: signature ? { 'x-twilio-signature': signature } : {} });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });

describe('signed webhooks', () => {
  it('POST /twilio/voice: 403 unsigned, tampered or replayed; 200 when signed over the public URL', async () => {
    const url = `https://${HOST}/twilio/voice?workflow=demo-relay`;
    expect((await post('/twilio/voice?workflow=demo-relay', form)).status).toBe(403);
    expect((await post('/twilio/voice?workflow=demo-relay', { ...form, From: '+15559999999' }, sign(url, form))).status).toBe(403);
    expect((await post('/twilio/voice?workflow=demo', form, sign(url, form))).status).toBe(403); // query changed
    expect((await post('/twilio/voice?workflow=demo-relay', form, sign(`https://${HOST}/twilio/status`, form))).status).toBe(403);
    const ok = await post('/twilio/voice?workflow=demo-relay', form, sign(url, form));
    expect(ok.status).toBe(200);
    expect(ok.body).toContain(`<ConversationRelay url="wss://${HOST}/twilio/relay"`);
  });

  it('POST /twilio/status and the relay action: 403 before anything is recorded', async () => {
    const status = { CallSid: 'CAsec2', CallStatus: 'ringing', SequenceNumber: '1' };
    const bad = await post('/twilio/status', status);
    expect(bad.status).toBe(403);
    expect(t.engine.registry.get('CAsec2')).toBeUndefined();
    expect((await post('/twilio/status', status, sign(`https://${HOST}/twilio/status`, status))).status).toBe(204);
    expect(t.engine.registry.get('CAsec2')?.status).toBe('ringing');

    const end = { CallSid: 'CAsec2', HandoffData: '{"reason":"x"}', SessionStatus: 'ended' };
    expect((await post('/twilio/relay/action', end)).status).toBe(403);
    expect(t.engine.registry.get('CAsec2')?.handoff).toBeUndefined();
    expect((await post('/twilio/relay/action', end, sign(`https://${HOST}/twilio/relay/action`, end))).status).toBe(200);
    expect(t.engine.registry.get('CAsec2')?.handoff?.data).toBe('{"reason":"x"}');
  });
});

describe('signed WebSocket upgrades', () => {
  it('refuses unsigned, wrongly signed and replayed upgrades with 403', async () => {
    expect(await upgrade('/twilio/media')).toBe(403);
    expect(await upgrade('/twilio/relay')).toBe(403);
    expect(await upgrade('/twilio/relay', sign(`wss://${HOST}/twilio/media`))).toBe(403); // media's signature on relay
    expect(await upgrade('/twilio/media', sign(`wss://evil.example.com/twilio/media`))).toBe(403);
    expect(t.engine.calls.size).toBe(0);
  });

  it('accepts upgrades signed over wss://PUBLIC_HOST/path', async () => {
    expect(await upgrade('/twilio/media', sign(`wss://${HOST}/twilio/media`))).toBe('open');
    expect(await upgrade('/twilio/relay', sign(`wss://${HOST}/twilio/relay`))).toBe('open');
  });

  it('runs a whole relay call when everything is signed like Twilio does', async () => {
    const r = await simulateRelayCall({ baseUrl: t.url, workflow: 'demo-relay', authToken: TOKEN, publicHost: HOST, steps: ['Do you treat children?'] });
    expect(r.turns[0].answer.trim()).toBe(t.engine.workflow('demo-relay')!.faq.find((e) => e.id === 'kids')!.answer);
  });
});

describe("the engine's own API", () => {
  it('needs the bearer token', async () => {
    const get = (auth?: string) => fetch(`${t.url}/calls/CAsec2`, { headers: auth ? { authorization: auth } : {} });
    expect((await get()).status).toBe(401);
    expect((await get('Bearer wrong')).status).toBe(403);
    const ok = await get('Bearer api-token-123');
    expect(ok.status).toBe(200);
    expect((await ok.json()).status).toBe('ringing');
    const place = await fetch(`${t.url}/calls`, { method: 'POST', body: JSON.stringify({ to: '+15551230000' }) });
    expect(place.status).toBe(401);
  });
});
