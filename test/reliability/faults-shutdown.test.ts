// SIGTERM with calls in flight, on the engine as `npm start` runs it: within the grace period no
// call is cut — a caller mid-conversation is still answered, a caller who hangs up ends as a
// hang-up — new connections are refused, and only the calls still live when the grace period
// ends are closed, with 1001 "engine shutting down" (README, "HTTP and WebSocket surface"); the
// process exits 0. Order of events only; no durations asserted.
import { describe, it, expect, afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startEngineProcess, type EngineProcess } from '../../bench/load/engine-process.ts';
import { fixture } from '../support/engine.ts';

let e: EngineProcess | undefined;
afterAll(() => {
  if (e?.alive()) e.proc.kill('SIGKILL');
});

/** The engine's "call ended" log lines by callSid. */
function endings(logs: string[]): Map<string, { outcome: string; reason?: string }> {
  const m = new Map<string, { outcome: string; reason?: string }>();
  for (const l of logs) {
    if (!l.includes('"call ended"')) continue;
    const j = JSON.parse(l);
    m.set(j.callSid, { outcome: j.outcome, reason: j.reason });
  }
  return m;
}

describe('SIGTERM with calls in flight', () => {
  it('cuts no call within the grace period, refuses new ones, closes the rest with 1001 after it, exits 0', async () => {
    e = await startEngineProcess({ SHUTDOWN_GRACE_MS: '6000', DSP_THREADS: '1', PERFORMANCE_CACHE_ENABLED: 'false', HISTORY_PATH: join(tmpdir(), `weaver-sigterm-${process.pid}.sqlite`) });
    const url = `http://127.0.0.1:${e.port}`;
    const talking = new RelayCaller({ baseUrl: url, workflow: 'demo-relay' });
    const leaving = new RelayCaller({ baseUrl: url, workflow: 'demo-relay' });
    const idle = new RelayCaller({ baseUrl: url, workflow: 'demo-relay' });
    for (const c of [talking, leaving, idle]) await c.connect();
    // A Media Streams call streaming audio through the shutdown (silence: no turn to answer).
    let mediaGreeted = false;
    const media = simulateCall({ baseUrl: url, audio: new Uint8Array(8000 * 30).fill(0xff), onMessage: (m) => void (m.event === 'media' && (mediaGreeted = true)) });
    while (!mediaGreeted) await new Promise((r) => setTimeout(r, 20));

    const events: string[] = [];
    const closes = new Map<RelayCaller, Promise<number | undefined>>();
    for (const [name, c] of [['talking', talking], ['idle', idle]] as const) {
      closes.set(
        c,
        (async () => {
          while (c.closeCode === undefined) await new Promise((r) => setTimeout(r, 20));
          events.push(`${name} closed`);
          return c.closeCode;
        })(),
      );
    }

    e.proc.kill('SIGTERM');
    while (!e.logs.some((l) => l.includes('shutting down: refusing new calls'))) await new Promise((r) => setTimeout(r, 20));
    // During the grace period: the conversation goes on…
    const turn = await talking.turn('Is there parking at the clinic?');
    events.push('talking answered');
    expect(turn.timedOut).toBe(false);
    expect(turn.answer).toMatch(/park/i);
    // …a caller who hangs up ends as a hang-up, not as a shutdown…
    await leaving.hangup();
    expect(leaving.closeCode).toBe(1000);
    // …and nobody new gets in.
    const refused = await new Promise<string>((r) => {
      const ws = new WebSocket(`ws://127.0.0.1:${e!.port}/twilio/relay`);
      ws.once('open', () => r('open'));
      ws.once('error', (err) => r((err as NodeJS.ErrnoException).code ?? err.message));
    });
    expect(refused).toBe('ECONNREFUSED');

    // After the grace period: the calls still live are closed with 1001, the process exits 0.
    expect(await closes.get(talking)).toBe(1001);
    expect(await closes.get(idle)).toBe(1001);
    expect((await media).closeCode).toBe(1001);
    expect(await e.exited).toBe(0);
    expect(events.indexOf('talking answered')).toBeLessThan(events.indexOf('talking closed'));
    const ended = endings(e.logs);
    expect(ended.get(leaving.callSid)?.outcome).toBe('hangup');
    for (const c of [talking, idle]) expect(ended.get(c.callSid)).toEqual({ outcome: 'shutdown', reason: 'engine shutting down' });
  });
});
