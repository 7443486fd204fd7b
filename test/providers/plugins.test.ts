// WEAVER_PLUGINS as a plug-in author uses it (docs/adapters.md): a plug-in module registering an
// adapter loads into `npm start` (engine/main.ts as a process) and answers a ConversationRelay
// call, ending it through endCall; one that cannot load stops startup with its name.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugins } from '../../engine/plugins.ts';
import { registeredProviders } from '../../adapters/kit/registry.ts';
import { startEngineProcess, type EngineProcess } from '../../bench/load/engine-process.ts';
import { RelayCaller } from '../../bench/load/relay-sim.ts';

/** An Ollama-style NDJSON chat server: "bye" gets a goodbye and an end_call tool call. */
let murmur: Server;
let base = '';
const seen: Array<{ auth?: string; tools: string[]; last: string }> = [];
beforeAll(async () => {
  murmur = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const b = JSON.parse(body);
      const last = String(b.messages.at(-1)?.content ?? '');
      seen.push({ auth: req.headers.authorization, tools: (b.tools ?? []).map((t: { function: { name: string } }) => t.function.name), last });
      const bye = /bye/i.test(last);
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const w of (bye ? 'Goodbye, thanks for calling!' : 'Murmur here: we are open until six.').split(/(?<= )/)) res.write(JSON.stringify({ message: { role: 'assistant', content: w }, done: false }) + '\n');
      if (bye) res.write(JSON.stringify({ message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'end_call', arguments: {} } }] }, done: false }) + '\n');
      res.end(JSON.stringify({ done: true }) + '\n');
    });
  });
  await new Promise<void>((r) => murmur.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(murmur.address() as AddressInfo).port}`;
});
const engines: EngineProcess[] = [];
afterAll(async () => {
  for (const e of engines) e.proc.kill('SIGKILL');
  await new Promise<void>((r) => murmur?.close(() => r()));
});
// An engine process takes seconds to start, far longer on a loaded machine.
const SLOW = 240_000;

describe('WEAVER_PLUGINS in the engine process', () => {
  it('loads a plug-in written from the docs; it answers a relay call and ends it with end_call', async () => {
    const e = await startEngineProcess({
      WEAVER_PLUGINS: 'test/fixtures/plugins/murmur.ts',
      WEAVER_LLM_CHAIN: JSON.stringify([{ provider: 'murmur' }]),
      MURMUR_URL: base,
      MURMUR_API_KEY: 'mm-key',
      PERFORMANCE_CACHE_ENABLED: 'false',
      DSP_THREADS: '1',
    });
    engines.push(e);
    expect(e.logs.some((l) => l.includes('plug-in loaded') && l.includes('llm:murmur'))).toBe(true);
    const caller = new RelayCaller({ baseUrl: `http://127.0.0.1:${e.port}`, workflow: 'demo-relay' });
    await caller.connect();
    const r = await caller.turn('When are you open?');
    expect(r.answer.trim()).toBe('Murmur here: we are open until six.');
    expect(seen.at(-1)).toEqual({ auth: 'Bearer mm-key', tools: ['end_call'], last: 'When are you open?' }); // its own env variable reached the adapter
    const bye = await caller.turn('Thanks, bye');
    expect(bye.answer.trim()).toBe('Goodbye, thanks for calling!');
    expect(await caller.waitForEnd()).toBe(true); // endCall on a chunk: the engine ended the session
    expect(caller.messages.some((m) => m.type === 'end')).toBe(true);
    await caller.hangup();
  }, SLOW);

  it('a plug-in that cannot be loaded stops startup with a message naming it', async () => {
    const err = await startEngineProcess({ WEAVER_PLUGINS: 'test/fixtures/plugins/murmur.ts, test/fixtures/plugins/broken.ts', DSP_THREADS: '1' }).then(
      (e) => (engines.push(e), undefined),
      (x: Error) => x,
    );
    expect(err?.message).toMatch(/engine exited with 2/);
    expect(err?.message).toContain('WEAVER_PLUGINS: cannot load plug-in \\"test/fixtures/plugins/broken.ts\\"');
    expect(err?.message).toContain('murmur-sdk is not installed');
  }, SLOW);
});

describe('loadPlugins', () => {
  it('imports each path relative to the working directory and reports what it registered', async () => {
    const loaded = await loadPlugins(['test/fixtures/plugins/murmur.ts'], { cwd: new URL('../../', import.meta.url).pathname });
    expect(loaded).toEqual([{ path: 'test/fixtures/plugins/murmur.ts', registered: ['llm:murmur'] }]);
    expect(registeredProviders('llm')).toContain('murmur');
  });

  it('names a missing plug-in and where it looked', async () => {
    await expect(loadPlugins(['./nope/murmur.ts'], { cwd: '/tmp' })).rejects.toThrow('WEAVER_PLUGINS: cannot load plug-in "./nope/murmur.ts" (/tmp/nope/murmur.ts)');
  });
});
