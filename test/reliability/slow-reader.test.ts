// Backpressure end to end: a caller whose socket stops reading while the agent speaks (the ws
// client's TCP socket paused, so the kernel buffers fill and uWebSockets.js starts holding bytes).
// The engine closes that socket once its unsent bytes pass MAX_SOCKET_BUFFER_BYTES — memory held
// for it stays under the cap plus one message — logs and counts it (slow_reader), ends the call
// with outcome slow-reader, and a bystander call is answered throughout.
import { describe, it, expect, afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startEngineProcess, type EngineProcess } from '../../bench/load/engine-process.ts';
import { fixture, labels } from '../support/engine.ts';

const CAP = 64 * 1024;
let e: EngineProcess | undefined;
afterAll(() => e?.proc.kill('SIGKILL'));

const start = (streamSid: string) => ({
  event: 'start',
  sequenceNumber: '1',
  streamSid,
  start: { streamSid, accountSid: 'AC1', callSid: 'CAslow', tracks: ['inbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
});

describe('a caller socket that stops reading while the agent speaks', () => {
  it('is closed once its unsent bytes pass the cap, logged and counted; a bystander call goes on', async () => {
    e = await startEngineProcess({ MAX_SOCKET_BUFFER_BYTES: String(CAP), DSP_THREADS: '1', PERFORMANCE_CACHE_ENABLED: 'false', HISTORY_PATH: join(tmpdir(), `weaver-slow-${process.pid}.sqlite`) });
    const first = labels('call-3turns')[0];
    const bystander = simulateCall({ baseUrl: `http://127.0.0.1:${e.port}`, audio: fixture('call-3turns.ulaw').subarray(0, 8000 * 9), transcripts: ['Is there parking at the clinic?'], labels: [first], speed: 1, tailMs: 4000 });

    const ws = new WebSocket(`ws://127.0.0.1:${e.port}/twilio/media`);
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    let closeCode: number | undefined;
    ws.once('close', (code) => (closeCode = code));
    ws.send(JSON.stringify(start('MZslow')));
    await new Promise((r) => ws.once('message', r)); // the greeting has started
    const tcp = (ws as unknown as { _socket: Socket })._socket;
    tcp.pause(); // stop reading: what the engine sends now piles up in the kernel, then in the engine

    // Each key press asks for another spoken answer, until the engine gives up on this socket.
    let presses = 0;
    while (!e.logs.some((l) => l.includes('call socket not reading')) && presses < 400) {
      ws.send(JSON.stringify({ event: 'dtmf', streamSid: 'MZslow', dtmf: { digit: String(presses % 9) } }));
      presses++;
      await new Promise((r) => setTimeout(r, 100));
    }
    const line = e.logs.find((l) => l.includes('call socket not reading'));
    expect(line).toBeDefined();
    const report = JSON.parse(line!);
    expect(report.limit).toBe(CAP);
    expect(report.buffered).toBeGreaterThan(CAP);
    expect(report.buffered).toBeLessThan(CAP + 64 * 1024); // reported at the write that crossed the cap
    tcp.resume();
    while (closeCode === undefined) await new Promise((r) => setTimeout(r, 20));
    expect(closeCode).toBe(1006); // closed without a close frame: one would have waited behind the unread bytes

    const text = await (await fetch(`http://127.0.0.1:${e.port}/metrics`)).text();
    expect(text).toContain('weaver_sockets_refused_total{transport="media",reason="slow_reader"} 1');
    const ended = e.logs.map((l) => (l.includes('"call ended"') ? JSON.parse(l) : undefined)).find((j) => j?.callSid === 'CAslow');
    expect(ended?.outcome).toBe('slow-reader');

    const b = await bystander;
    expect(b.closeCode).toBe(1000);
    expect(b.mediaAt.some((at) => at > first.endMs)).toBe(true); // answered after its question
    expect(e.alive()).toBe(true);
    console.log(`[slow-reader] ${presses} key presses before the close; engine held ${report.buffered} bytes for the socket (cap ${CAP})`);
  });
});
