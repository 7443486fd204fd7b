// Limits on call sockets: calls per remote address (refused at the upgrade with a reason and a
// counter), and a peer that stops reading (reported once its unsent bytes pass the cap, so the
// engine's memory stays bounded).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import WebSocket from 'ws';
import type { WebSocket as UwsSocket } from 'uWebSockets.js';
import { sessionSocket, type CallSocketData } from '../../engine/call-socket.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ MAX_CALLS_PER_IP: 2, PERFORMANCE_CACHE_ENABLED: false });
});
afterAll(async () => {
  await t?.stop();
});

/** Opens a media socket; resolves with 'open' or the refusal's HTTP status and body. */
function connect(): Promise<{ ws?: WebSocket; status?: number; body?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(t.url.replace('http', 'ws') + '/twilio/media');
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
  });
}

describe('call socket limits', () => {
  it('refuses a third call from one address with 503 and a reason, and counts it', async () => {
    const a = await connect();
    const b = await connect();
    const c = await connect();
    expect(a.ws && b.ws).toBeTruthy();
    expect(c).toEqual({ status: 503, body: 'too many calls from this address' });
    const refused = (await t.engine.metrics.socketsRefused.get()).values.find((v) => v.labels.reason === 'too_many_calls_from_this_address');
    expect(refused?.value).toBe(1);
    a.ws!.close();
    await new Promise((r) => a.ws!.once('close', r));
    await new Promise((r) => setTimeout(r, 50));
    const d = await connect(); // a slot is free again
    expect(d.ws).toBeDefined();
    b.ws!.close();
    d.ws!.close();
  });

  it('reports a peer whose unsent bytes pass the cap, once, and drops writes after close', () => {
    let buffered = 0;
    const sent: string[] = [];
    const data: CallSocketData = { id: 'media-x', ip: '127.0.0.1', closed: false };
    const ws = {
      getUserData: () => data,
      send: (text: string) => {
        sent.push(text);
        buffered += text.length;
        return 1;
      },
      getBufferedAmount: () => buffered,
      cork: (fn: () => void) => fn(),
      end: () => {},
    } as unknown as UwsSocket<CallSocketData>;
    let reports = 0;
    const socket = sessionSocket(ws, 1000, () => reports++);
    for (let i = 0; i < 5; i++) socket.send('x'.repeat(300));
    expect(reports).toBe(1); // at the fourth write (1200 > 1000), and not again
    data.closed = true;
    socket.send('after close');
    expect(sent).toHaveLength(5);
  });
});
