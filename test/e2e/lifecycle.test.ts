// The engine as a process: `npm start`'s entry point serves /health and the webhook, refuses
// bad configuration with the setting named, and on SIGTERM ends live calls after the grace
// period and exits cleanly.
import { describe, it, expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import WebSocket from 'ws';

const ROOT = new URL('../../', import.meta.url);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts engine/main.ts with tsx; resolves once it logs that it is ready. */
function startEngine(env: Record<string, string>): Promise<{ proc: ChildProcess; logs: string[]; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'engine/main.ts'], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      logs.push(...d.toString().split('\n').filter(Boolean));
      if (logs.some((l) => l.includes('Call Flow Weaver ready'))) resolve({ proc, logs, exited });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`engine exited with ${code} before it was ready:\n${logs.join('\n')}`)));
  });
}

describe('the engine process', () => {
  it('serves /health, then on SIGTERM ends live calls after the grace period and exits 0', async () => {
    const port = await freePort();
    const { proc, logs, exited } = await startEngine({ PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_GRACE_MS: '300', CACHE_DIR: `/tmp/weaver-lifecycle-${port}` });
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
