// A second engine on a port already in use refuses to start, naming the port: uWebSockets.js
// would otherwise share it (SO_REUSEPORT) and calls would spread over two configurations.
// WEAVER_SHARE_PORT=true on every engine lets them share it on purpose. Engines run as processes.
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startEngineProcess, type EngineProcess } from '../../bench/load/engine-process.ts';

const started: EngineProcess[] = [];
const start = async (env: Record<string, string>) => {
  const e = await startEngineProcess({ PERFORMANCE_CACHE_ENABLED: 'false', DSP_THREADS: '1', ...env });
  started.push(e);
  return e;
};
afterAll(() => {
  for (const e of started) e.proc.kill('SIGKILL');
});
// An engine process takes seconds to start, far longer on a loaded machine.
const SLOW = 240_000;

describe('listening port', () => {
  it('a second engine on a taken port exits with an error naming the port; the first keeps serving', async () => {
    const first = await start({});
    const err = await start({ PORT: String(first.port) }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(new RegExp(`port ${first.port} on 127\\.0\\.0\\.1 is already in use: stop the other engine, choose another PORT, or set WEAVER_SHARE_PORT=true`));
    expect(first.alive()).toBe(true);
    expect((await fetch(`http://127.0.0.1:${first.port}/health`)).status).toBe(200);
  }, SLOW);

  it('engines that all set WEAVER_SHARE_PORT=true share a port', async () => {
    const port = String(await freePort());
    const a = await start({ PORT: port, WEAVER_SHARE_PORT: 'true' });
    const b = await start({ PORT: port, WEAVER_SHARE_PORT: 'true' }); // started after a listens
    expect([a.alive(), b.alive()]).toEqual([true, true]);
    expect(b.logs.some((l) => l.includes('"msg":"listening"') && l.includes(`"port":${port}`))).toBe(true);
  }, SLOW);
});
