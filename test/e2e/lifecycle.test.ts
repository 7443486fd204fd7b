// The engine as a process: `npm start`'s entry point serves /health and the webhook, refuses
// bad configuration with the setting named, and on SIGTERM ends live calls after the grace
// period and exits cleanly.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { startEngineProcess } from '../../bench/load/engine-process.ts';

const ROOT = new URL('../../', import.meta.url);

describe('the engine process', () => {
  it('serves /health, then on SIGTERM ends live calls after the grace period and exits 0', async () => {
    const { proc, port, logs, exited } = await startEngineProcess({ SHUTDOWN_GRACE_MS: '300' });
    const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    expect(health.status).toBe('ok');
    expect(health.workers.threads).toBeGreaterThan(0);
    expect(health.calls.active).toBe(0);
    expect(Array.isArray(health.providers.providers)).toBe(true);

    const ws = new WebSocket(`ws://127.0.0.1:${port}/twilio/media`);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: 'MZlife', start: { streamSid: 'MZlife', accountSid: 'AC', callSid: 'CAlife', tracks: ['inbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } }));
    await new Promise((r) => ws.once('message', r)); // the greeting is flowing: the call is live
    expect((await (await fetch(`http://127.0.0.1:${port}/health`)).json()).calls.active).toBe(1);

    proc.kill('SIGTERM');
    expect(await closed).toBe(1001); // "going away": ended by the shutdown, not dropped
    expect(await exited).toBe(0);
    expect(logs.some((l) => l.includes('shutting down: refusing new calls'))).toBe(true);
    expect(logs.some((l) => l.includes('"outcome":"shutdown"'))).toBe(true);
  });

  it('refuses to start on a bad setting and names it', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'engine/main.ts'], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', DSP_DENOISE: 'loud' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const code = await new Promise((r) => proc.once('exit', r));
    expect(code).toBe(2);
    expect(out).toContain('DSP_DENOISE');
  });
});
