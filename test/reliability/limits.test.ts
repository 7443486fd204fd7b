// Limits as configuration: MAX_CALLS bounds the call sockets of both kinds together — a socket
// that has not started yet holds a slot too, so it is also the global connection limit — and
// refuses the next with 503 "at capacity", counted; CALL_START_TIMEOUT_MS closes a socket that
// never starts (1008, counted as no_start), which frees its slot. (MAX_CALLS_PER_IP: socket-limits.test.ts.)
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { openCallSocket } from './call-socket-client.ts';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ MAX_CALLS: 2, CALL_START_TIMEOUT_MS: 300, PERFORMANCE_CACHE_ENABLED: false });
});
afterAll(async () => {
  await t?.stop();
});

const counted = async (counter: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> }, labels: Record<string, string>) =>
  (await counter.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;

describe('MAX_CALLS and CALL_START_TIMEOUT_MS', () => {
  it('a relay call and a silent media socket fill two slots; the next socket of either kind is refused; the silent one is closed and its slot freed', async () => {
    const call = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await call.connect();
    const silent = await openCallSocket(t.url, '/twilio/media');
    expect(silent.ws).toBeDefined();
    const silentClosed = new Promise<{ code: number; reason: string }>((r) => silent.ws!.once('close', (code, reason) => r({ code, reason: reason.toString() })));

    expect(await openCallSocket(t.url, '/twilio/media')).toEqual({ status: 503, body: 'at capacity' });
    expect(await openCallSocket(t.url, '/twilio/relay')).toEqual({ status: 503, body: 'at capacity' });
    expect(await counted(t.engine.metrics.socketsRefused, { reason: 'at_capacity', transport: 'media' })).toBe(1);
    expect(await counted(t.engine.metrics.socketsRefused, { reason: 'at_capacity', transport: 'relay' })).toBe(1);

    expect(await silentClosed).toEqual({ code: 1008, reason: 'no start within 300 ms' });
    expect(await counted(t.engine.metrics.protocolErrors, { kind: 'no_start', transport: 'media' })).toBe(1);
    const next = await openCallSocket(t.url, '/twilio/relay'); // the freed slot
    expect(next.ws).toBeDefined();
    next.ws!.close();
    // The call that started was never touched.
    expect((await call.turn('Is there parking at the clinic?')).answer).toMatch(/park/i);
    await call.hangup();
  });
});
