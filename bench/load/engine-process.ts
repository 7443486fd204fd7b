// Runs `npm start`'s entry point (engine/main.ts under tsx) as a child process, for tests that
// must see the process itself survive, exit or refuse to start.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

const ROOT = new URL('../../', import.meta.url);

export interface EngineProcess {
  proc: ChildProcess;
  port: number;
  logs: string[];
  /** Resolves with the exit code once the process exits. */
  exited: Promise<number | null>;
  alive(): boolean;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the engine on a free loopback port; resolves once it logs that it is ready. */
export async function startEngineProcess(env: Record<string, string> = {}): Promise<EngineProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'engine/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', PORT: String(port), HOST: '127.0.0.1', CACHE_DIR: `/tmp/weaver-proc-${port}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (code) => {
      exitCode = code;
      r(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      logs.push(...d.toString().split('\n').filter(Boolean));
      if (logs.some((l) => l.includes('Call Flow Weaver ready'))) resolve({ proc, port, logs, exited, alive: () => exitCode === undefined });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`engine exited with ${code} before it was ready:\n${logs.join('\n')}`)));
  });
}
