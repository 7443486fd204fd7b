// The worked example from docs/adapters.md passes the conformance suite against a loopback
// NDJSON chat server, and registers like any built-in.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLlmConformance } from '../../adapters/testkit/conformance.ts';
import { NdjsonLlm } from '../../docs/example-adapter/ndjson-llm.ts';
import '../../docs/example-adapter/register.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { loadConfig } from '../../engine/config.ts';
import { parseWorkflow } from '../../engine/workflow.ts';

let server: Server;
let base = '';
let lastBody: any;
let lastAuth: string | undefined;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url !== '/api/chat') return void res.writeHead(404).end();
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      lastBody = JSON.parse(body);
      lastAuth = req.headers.authorization;
      const { model } = lastBody;
      if (model === 'broken') return void res.writeHead(503).end();
      if (model === 'limited') return void res.writeHead(429, { 'retry-after': '1' }).end();
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const w of ['We ', 'are ', 'open ', 'nine ', 'to ', 'five.']) {
        if (res.destroyed) return;
        res.write(JSON.stringify({ message: { role: 'assistant', content: w }, done: false }) + '\n');
        await new Promise((r) => setTimeout(r, 2));
      }
      if (model === 'cut') return void res.end(); // no "done" line
      if (model === 'bye') res.write(JSON.stringify({ message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'end_call', arguments: {} } }] }, done: false }) + '\n');
      res.end(JSON.stringify({ done: true }) + '\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describeLlmConformance('docs example: ndjson', () => new NdjsonLlm({ baseURL: base, model: 'demo' }), {
  failures: [
    { name: 'HTTP 503', kind: 'server', make: () => new NdjsonLlm({ baseURL: base, model: 'broken' }) },
    { name: 'HTTP 429', kind: 'rate_limited', make: () => new NdjsonLlm({ baseURL: base, model: 'limited' }) },
    { name: 'stream cut before done', kind: 'server', make: () => new NdjsonLlm({ baseURL: base, model: 'cut' }) },
  ],
});

it('registers under "ndjson" with settings validated at build time', () => {
  const wf = (llm: object[]) => parseWorkflow({ id: 'demo', providers: { llm } }, 'test');
  expect(() => buildProviders(wf([{ provider: 'ndjson', model: 'm' }]), loadConfig({}))).toThrow('llm[0] ndjson: baseURL missing: set providers.llm[0].baseURL');
  expect(buildProviders(wf([{ provider: 'ndjson', baseURL: base, model: 'm' }]), loadConfig({})).llm.name).toBe('ndjson/m');
});

it('ends the call when the model calls end_call, sending the tool and the key', async () => {
  const p = new NdjsonLlm({ baseURL: base, model: 'bye', apiKey: 'nd-key', endCallTool: true });
  const chunks = [];
  for await (const c of p.stream({ ctx: { callId: 'c', workflow: 'w', language: 'en-US', parameters: {} }, messages: [{ role: 'user', content: 'bye' }], signal: new AbortController().signal })) chunks.push(c);
  expect(chunks.map((c) => c.text).join('')).toBe('We are open nine to five.');
  expect(chunks.filter((c) => c.endCall)).toHaveLength(1);
  expect(lastBody.tools.map((t: { function: { name: string } }) => t.function.name)).toEqual(['end_call']);
  expect(lastAuth).toBe('Bearer nd-key');
});
