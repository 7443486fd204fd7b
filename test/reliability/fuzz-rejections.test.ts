// Rejections the reliability fuzzer (npm run reliability) found uncounted: a call-socket message
// over uWebSockets.js's hard size limit (dropped before any session sees it and reported as code
// 1006, so the engine's check for 1009 never fired) and refused Twilio webhook requests
// (oversized or malformed form bodies, unknown workflow). Each is now in /metrics.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import WebSocket from 'ws';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false });
});
afterAll(async () => {
  await t?.stop();
});

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(name + '{') && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}

const post = (path: string, body: string) => fetch(t.url + path, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

describe('rejections the fuzzer found uncounted', () => {
  it.each(['media', 'relay'])('a %s-socket message over the hard size limit drops the socket and is counted', async (mode) => {
    const before = await counter('weaver_sockets_refused_total', { transport: mode, reason: 'message_too_large' });
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/twilio/${mode}`);
    await new Promise((r) => ws.once('open', r));
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    ws.on('error', () => {});
    ws.send(JSON.stringify({ event: 'media', streamSid: 'MZbig', media: { payload: 'A'.repeat(2_000_000) } }));
    expect(await code).toBe(1006); // uWebSockets.js sends no close frame
    await new Promise((r) => setTimeout(r, 100));
    expect(await counter('weaver_sockets_refused_total', { transport: mode, reason: 'message_too_large' })).toBe(before + 1);
  });

  it('counts refused webhook requests by route and status, and still answers good ones', async () => {
    expect((await post('/twilio/voice', 'x='.repeat(40_000))).status).toBe(413);
    expect((await post('/twilio/status', 'x='.repeat(40_000))).status).toBe(413);
    expect((await post('/twilio/status', 'CallStatus=ringing')).status).toBe(400); // no CallSid
    expect((await post('/twilio/status', 'CallSid=CA1&Foo=%ZZ')).status).toBe(400); // neither status nor stream event
    expect((await post('/twilio/voice?workflow=no-such-flow', '')).status).toBe(404);
    expect((await post('/twilio/voice', 'CallSid=CA2')).status).toBe(200);
    expect(await counter('weaver_webhook_rejected_total', { route: '/twilio/voice', status: '413' })).toBe(1);
    expect(await counter('weaver_webhook_rejected_total', { route: '/twilio/status', status: '413' })).toBe(1);
    expect(await counter('weaver_webhook_rejected_total', { route: '/twilio/status', status: '400' })).toBe(2);
    expect(await counter('weaver_webhook_rejected_total', { route: '/twilio/voice', status: '404' })).toBe(1);
    expect(await counter('weaver_webhook_rejected_total', { route: '/twilio/voice', status: '200' })).toBe(0);
  });
});
