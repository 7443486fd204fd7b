// WEAVER_PROCESSES=2 (engine/cluster/): `npm start`'s entry point supervises two engine processes
// on one port. Calls land on both; a killed process is restarted, its calls end and the other's
// calls go on being answered; /health and /metrics on either cover both; SIGTERM drains every
// process (a live call is still answered during the grace) and the supervisor exits 0.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { freePort } from '../../bench/load/engine-process.ts';

const ROOT = new URL('../../', import.meta.url);
const STARTUP_MS = 150_000; // two engines starting at once on a shared, loaded 2-core machine

interface ProcessView {
  index: number;
  pid: number;
  status: string;
  calls: number;
  restarts: number;
}

describe('a supervisor with two engine processes on one port', () => {
  let proc: ChildProcess;
  let port: number;
  let url: string;
  const logs: string[] = [];
  let exited: Promise<number | null>;

  const processes = async (): Promise<ProcessView[]> => ((await fetch(`${url}/health`).then((r) => r.json())) as any).cluster.processes;
  const until = async <T,>(get: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 30_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await get().catch(() => undefined);
      if (v !== undefined && ok(v)) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${logs.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    proc = spawn(process.execPath, ['--import', 'tsx', 'engine/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', WEAVER_PROCESSES: '2', PORT: String(port), HOST: '127.0.0.1', HISTORY_ENABLED: 'false', CACHE_DIR: mkdtempSync(join(tmpdir(), 'weaver-sup-')), SHUTDOWN_GRACE_MS: '4000', RELAY_SPECULATION: 'false', REDIS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((r) => proc.once('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        logs.push(...d.toString().split('\n').filter(Boolean));
        if (logs.some((l) => l.includes('all engine processes ready'))) resolve();
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      void exited.then((code) => reject(new Error(`supervisor exited with ${code}:\n${logs.join('\n')}`)));
    });
  }, STARTUP_MS);
  afterAll(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  });

  it('serves calls from both processes; a killed process is restarted and the other one\'s calls go on', async () => {
    const first = await processes();
    expect(first).toHaveLength(2);
    expect(new Set(first.map((p) => p.pid)).size).toBe(2);

    // Calls until both processes hold some (the kernel spreads connections over the port's listeners).
    const callers: RelayCaller[] = [];
    const both = async () => {
      const c = new RelayCaller({ baseUrl: url, workflow: 'demo-relay' });
      await c.connect();
      expect((await c.turn('Is there parking at the clinic?')).answer.length).toBeGreaterThan(0);
      callers.push(c);
      await new Promise((r) => setTimeout(r, 1200)); // a report per second from each process
      return processes();
    };
    let view = await both();
    for (let i = 0; i < 24 && !view.every((p) => p.calls > 0); i++) view = await both();
    expect(view.every((p) => p.calls > 0)).toBe(true);

    const victim = view[0];
    const survivorPid = view[1].pid;
    process.kill(victim.pid, 'SIGKILL');
    await until(
      async () => callers.filter((c) => c.closeCode !== undefined).length,
      (n) => n >= victim.calls,
      'the killed process\'s calls to end',
    );
    const dropped = callers.filter((c) => c.closeCode !== undefined);
    const alive = callers.filter((c) => c.closeCode === undefined);
    expect(dropped.length).toBe(victim.calls);
    expect(alive.length).toBe(callers.length - victim.calls);
    for (const c of alive) expect((await c.turn('Where is the clinic located?')).answer.length).toBeGreaterThan(0);

    const after = await until(processes, (ps) => ps.some((p) => p.index === victim.index && p.pid !== victim.pid && p.status === 'ok'), 'the killed process to be replaced', STARTUP_MS);
    expect(after.find((p) => p.index === victim.index)!.restarts).toBe(1);
    expect(after.find((p) => p.pid === survivorPid)!.restarts).toBe(0); // the other one never stopped
    for (const c of alive) await c.hangup();
  }, STARTUP_MS * 2);

  it('/metrics covers both processes', async () => {
    const text = await fetch(`${url}/metrics`).then((r) => r.text());
    // DSP threads are split between the processes and summed back: one per process on 2 cores.
    const threads = Number(/^weaver_dsp_threads (\d+)/m.exec(text)?.[1]);
    const each = (await processes()).length;
    expect(threads).toBeGreaterThanOrEqual(each);
    expect(text).toMatch(/^weaver_calls_total\{/m); // counters of calls both processes served
  });

  it('SIGTERM drains every process: a live call is answered during the grace, then the supervisor exits 0', async () => {
    const c = new RelayCaller({ baseUrl: url, workflow: 'demo-relay' });
    await c.connect();
    proc.kill('SIGTERM');
    await until(async () => logs.some((l) => l.includes('shutting down: refusing new calls')), Boolean, 'the processes to start draining');
    const r = await c.turn('Do you treat children?');
    expect(r.answer.length).toBeGreaterThan(0);
    expect(await exited).toBe(0);
    expect(c.closeCode).toBe(1001); // closed by the engine at the end of the grace
    expect(logs.filter((l) => l.includes('shutting down: refusing new calls')).length).toBe(2);
    expect(logs.some((l) => l.includes('every engine process has exited'))).toBe(true);
  }, 60_000);
});
