// The voice webhook refuses a call the engine cannot take (MAX_CALLS call sockets open, or draining)
// before Twilio answers it: <Reject reason="busy"/> (the caller hears busy, the call is not billed),
// counted in weaver_sockets_refused_total{transport="webhook"}, and one log line when refusing
// starts and one when it stops, not one per caller.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { openCallSocket } from './call-socket-client.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ MAX_CALLS: 1, PERFORMANCE_CACHE_ENABLED: false });
});
afterAll(async () => {
  await t?.stop();
});

const voice = async () => {
  const r = await fetch(`${t.url}/twilio/voice`, { method: 'POST', body: new URLSearchParams({ CallSid: 'CAnew', From: '+15550001111', To: '+15550002222' }) });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
};
const refused = async () => (await t.engine.metrics.socketsRefused.get()).values.find((v) => v.labels.transport === 'webhook' && v.labels.reason === 'at_capacity')?.value ?? 0;

describe('voice webhook at MAX_CALLS', () => {
  it('answers <Reject reason="busy"/> while full, counts each, logs once, and connects again once a slot frees', async () => {
    const warn = vi.spyOn(t.engine.log, 'warn');
    const info = vi.spyOn(t.engine.log, 'info');
    expect((await voice()).body).toContain('<Connect><Stream');

    const held = await openCallSocket(t.url, '/twilio/media'); // the only slot
    expect(held.ws).toBeDefined();
    const busy = [await voice(), await voice(), await voice()];
    for (const b of busy) expect(b).toEqual({ status: 200, type: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy"/></Response>' });
    expect(await refused()).toBe(3);
    expect(warn.mock.calls.filter((c) => String(c[1]).startsWith('voice webhook:'))).toEqual([[{ reason: 'at capacity', calls: 1, maxCalls: 1 }, 'voice webhook: at capacity, rejecting new calls as busy']]);

    const closed = new Promise((r) => held.ws!.once('close', r));
    held.ws!.close();
    await closed;
    await vi.waitFor(async () => expect((await voice()).body).toContain('<Connect><Stream'));
    expect(info.mock.calls.filter((c) => c[1] === 'voice webhook: taking new calls again')).toHaveLength(1);
    expect(await refused()).toBe(3);
  });

  it('rejects as busy while draining', async () => {
    t.engine.draining = true;
    try {
      expect((await voice()).body).toContain('<Reject reason="busy"/>');
      expect((await t.engine.metrics.socketsRefused.get()).values.find((v) => v.labels.transport === 'webhook' && v.labels.reason === 'shutting_down')?.value).toBe(1);
    } finally {
      t.engine.draining = false;
    }
  });
});
