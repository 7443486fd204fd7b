// A process near its file-descriptor or memory limit refuses NEW calls (<Reject reason="busy"/> at
// the voice webhook, 503 with the reason at the socket upgrade, counted in weaver_sockets_refused_total) and keeps
// the calls it has. The fd case runs the engine as `npm start` does and lowers its RLIMIT_NOFILE
// while it runs (prlimit --pid); the memory case grows this process's RSS past MEMORY_LIMIT_MB.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type WebSocket from 'ws';
import { openCallSocket } from './call-socket-client.ts';
import { Admission, type ResourceReadings } from '../../engine/admission.ts';
import { loadConfig } from '../../engine/config.ts';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { startEngineProcess, type EngineProcess } from '../../bench/load/engine-process.ts';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.ts';

const MB = 1024 * 1024;
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('Admission (readings given)', () => {
  const readings = (r: { open?: number; limit?: number; rss?: number; heapUsed?: number; cgroup?: number }): ResourceReadings => ({
    fds: () => (r.open === undefined ? undefined : { open: r.open, limit: r.limit! }),
    rssBytes: () => r.rss ?? 100 * MB,
    heap: () => ({ used: r.heapUsed ?? 50 * MB, limit: 2048 * MB }),
    cgroupLimitBytes: () => r.cgroup,
  });
  const cfg = (o: Record<string, unknown> = {}) => loadConfig({}, o);

  it('refuses within the fd reserve, above the RSS cap and near the heap limit, and reports each change once', () => {
    const r = { open: 100, limit: 1024, rss: 100 * MB, heapUsed: 50 * MB };
    let t = 0;
    const changes: Array<string | undefined> = [];
    const a = new Admission(cfg({ ADMISSION_FD_RESERVE: 64, MEMORY_LIMIT_MB: 1000 }), (x) => changes.push(x?.reason), readings(r), () => (t += 1000));
    expect(a.check()).toBeUndefined();
    r.open = 1024 - 64;
    expect(a.check()).toEqual({ reason: 'fd_limit', text: 'out of file descriptors (960 of 1024 open)' });
    expect(a.check()?.reason).toBe('fd_limit');
    r.open = 100;
    r.rss = 901 * MB; // cap: 0.9 × 1000 MB
    expect(a.check()?.reason).toBe('memory_limit');
    r.rss = 100 * MB;
    r.heapUsed = 1900 * MB; // over 0.9 × 2048 MB
    expect(a.check()?.text).toBe('near the heap limit (1900 of 2048 MB)');
    r.heapUsed = 50 * MB;
    expect(a.check()).toBeUndefined();
    expect(changes).toEqual(['fd_limit', 'memory_limit', 'heap_limit', undefined]); // never for a repeated reason
  });

  it('counts the calls admitted since the last fd sample, so a burst cannot pass the reserve', () => {
    const r = { open: 950, limit: 1024 };
    const a = new Admission(cfg({ ADMISSION_FD_RESERVE: 64 }), undefined, readings(r), () => 0); // the clock never moves: one sample
    let admitted = 0;
    while (!a.check() && admitted < 100) {
      a.admitted();
      admitted++;
    }
    expect(admitted).toBe(10); // 950 + 10 = 960 = 1024 - 64
  });

  it("takes the container's limit when MEMORY_LIMIT_MB is 0, and has no RSS cap without one", () => {
    expect(new Admission(cfg(), undefined, readings({ cgroup: 1000 * MB })).rssCapBytes).toBe(900 * MB);
    expect(new Admission(cfg(), undefined, readings({})).rssCapBytes).toBeUndefined();
    expect(new Admission(cfg({ MEMORY_LIMIT_MB: 500 }), undefined, readings({ cgroup: 1000 * MB })).rssCapBytes).toBe(450 * MB);
    expect(() => loadConfig({ ADMISSION_MEMORY_RATIO: '2' })).toThrow(/ADMISSION_MEMORY_RATIO/);
  });
});

const voiceWebhook = (url: string) => fetch(`${url}/twilio/voice?workflow=demo-relay`, { method: 'POST', body: new URLSearchParams({ CallSid: 'CAnew', From: '+15550001111', To: '+15550002222' }), signal: AbortSignal.timeout(10_000) });

async function refusedTotal(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('weaver_sockets_refused_total{') && l.includes(`reason="${reason}"`))
    .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

describe('out of file descriptors (engine process, RLIMIT_NOFILE lowered while it runs)', () => {
  it('refuses new calls (busy at the webhook, 503 and the reason at the socket), keeps answering the calls it has, and admits again once descriptors are free', async () => {
    const e: EngineProcess = await startEngineProcess({ ADMISSION_FD_RESERVE: '16', DSP_THREADS: '1', PERFORMANCE_CACHE_ENABLED: 'false', HISTORY_PATH: join(tmpdir(), `weaver-fd-${process.pid}.sqlite`) });
    cleanups.push(() => e.proc.kill('SIGKILL'));
    const url = `http://127.0.0.1:${e.port}`;
    const old: RelayCaller[] = [];
    for (let i = 0; i < 2; i++) {
      const c = new RelayCaller({ baseUrl: url, workflow: 'demo-relay' });
      await c.connect();
      old.push(c);
    }
    // Room for a few more descriptors above the reserve, no more.
    const open = readdirSync(`/proc/${e.proc.pid}/fd`).length;
    const limit = open + 16 + 12;
    execFileSync('prlimit', ['--pid', String(e.proc.pid), `--nofile=${limit}:${limit}`]);
    // The engine samples descriptors and their limit at most every 100 ms (a limit never changes
    // under a running engine outside this test): let the sample taken before prlimit expire.
    await new Promise((r) => setTimeout(r, 250));

    const extra: WebSocket[] = [];
    let refusal: { status?: number; body?: string } | undefined;
    for (let i = 0; i < 40 && !refusal; i++) {
      const r = await openCallSocket(url, '/twilio/relay');
      if (r.ws) extra.push(r.ws);
      else refusal = r;
    }
    expect(refusal, `after ${extra.length} sockets admitted`).toMatchObject({ status: 503 });
    expect(refusal?.body).toMatch(/^out of file descriptors \(\d+ of \d+ open\)$/);
    expect(refusal?.body).toContain(`of ${limit} open`);
    const hook = await voiceWebhook(url);
    expect(hook.status).toBe(200);
    expect(await hook.text()).toContain('<Reject reason="busy"/>');
    expect(await refusedTotal(url, 'fd_limit')).toBeGreaterThanOrEqual(2);
    await waitFor(() => e.logs.some((l) => l.includes('refusing new calls: out of file descriptors')), 'the log line saying why (stdout is a pipe: it may trail)');

    // The calls it had still answer, turn by turn.
    for (const c of old) {
      const turn = await c.turn('Is there parking at the clinic?');
      expect(turn.answer).toMatch(/park/i);
      expect(turn.timedOut).toBe(false);
    }
    // Descriptors freed: new calls are admitted again, and the log says so.
    for (const ws of extra) ws.close();
    let back: { ws?: WebSocket } = {};
    for (let i = 0; i < 50 && !back.ws; i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = await openCallSocket(url, '/twilio/relay');
    }
    expect(back.ws).toBeDefined();
    back.ws!.close();
    await waitFor(() => e.logs.some((l) => l.includes('admitting new calls again')), 'the log line saying new calls are admitted again');
    for (const c of old) await c.hangup();
    expect(e.alive()).toBe(true);
  });
});

describe('near the memory limit (this process grows past MEMORY_LIMIT_MB)', () => {
  it('refuses new calls (busy at the webhook, 503 and the reason at the socket), keeps the calls it has, and admits again once memory is back', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const rss = process.memoryUsage.rss();
    // New calls are refused above 0.9 × the limit: 300 MB above what this process holds now.
    const limitMb = Math.ceil((rss + 300 * MB) / MB / 0.9);
    const t: TestEngine = await startTestEngine({ MEMORY_LIMIT_MB: limitMb, PERFORMANCE_CACHE_ENABLED: false });
    cleanups.push(() => t.stop());
    const old = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await old.connect();

    let ballast: Buffer | undefined = Buffer.allocUnsafe(600 * MB).fill(7); // filled, so its pages count in RSS
    const refused = await openCallSocket(t.url, '/twilio/relay');
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/^near the memory limit \(RSS \d+ MB, new calls refused above \d+ MB\)$/);
    expect(await (await voiceWebhook(t.url)).text()).toContain('<Reject reason="busy"/>');
    expect(await refusedTotal(t.url, 'memory_limit')).toBe(2);
    const turn = await old.turn('Is there parking at the clinic?');
    expect(turn.answer).toMatch(/park/i);
    expect(ballast[ballast.length - 1]).toBe(7);

    ballast = undefined;
    gc();
    await waitFor(() => process.memoryUsage.rss() < t.engine.admission.rssCapBytes!, 'RSS to fall below the cap after the ballast is freed');
    const again = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await again.connect();
    expect((await again.turn('Is there parking at the clinic?')).answer).toMatch(/park/i);
    await again.hangup();
    await old.hangup();
  });
});
