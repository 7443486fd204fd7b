// The per-call error boundary: an exception inside one call (here a provider that throws where
// adapters must not) ends that call with 1011, is logged and counted, and the engine and the
// other calls go on. Plus the boundary's own rules.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { loadConfig } from '../../engine/config.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { CallBoundary } from '../../engine/call/boundary.ts';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startTestEngine, fixture, type TestEngine } from '../support/engine.ts';
import WebSocket from 'ws';

let t: TestEngine;
beforeAll(async () => {
  const config = loadConfig({}, { PERFORMANCE_CACHE_ENABLED: false });
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false }, {
    providers: (wf) => {
      const p = buildProviders(wf, config);
      // A broken adapter: throws synchronously from open() for calls that ask for it.
      const stt = { name: p.stt.name, open: (ctx: Parameters<typeof p.stt.open>[0], signal: AbortSignal) => {
        if (ctx.parameters.explode === 'yes') throw new Error('adapter bug');
        return p.stt.open(ctx, signal);
      } };
      return { ...p, stt };
    },
  });
});
afterAll(async () => {
  await t?.stop();
});

describe('a call that throws', () => {
  it('ends alone with 1011, logged and counted; a concurrent call is answered', async () => {
    const good = simulateCall({ baseUrl: t.url, audio: fixture('call-3turns.ulaw').subarray(0, 8000 * 9), transcripts: ['Is there parking at the clinic?'], speed: 2 });
    const ws = new WebSocket(t.url.replace('http', 'ws') + '/twilio/media');
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: 'MZboom', start: { streamSid: 'MZboom', accountSid: 'AC', callSid: 'CAboom', tracks: ['inbound'], customParameters: { explode: 'yes' }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } }));
    expect(await closed).toEqual({ code: 1011, reason: 'internal error' });
    const r = await good;
    expect(t.engine.recent.get(r.callSid)!.turns.filter((x) => x.index > 0).map((x) => x.user)).toEqual(['Is there parking at the clinic?']);
    const errors = await t.engine.metrics.errors.get();
    expect(errors.values.find((v) => v.labels.kind === 'call_exception')?.value).toBe(1);
    expect(t.engine.dsp.shardOf('MZboom')).toBe(-1); // its DSP channel was released
  });
});

describe('CallBoundary', () => {
  it('turns a throw, a rejected promise or an RxJS error into one failure', async () => {
    const seen: string[] = [];
    const b = new CallBoundary((e, where) => seen.push(`${where}: ${(e as Error).message}`));
    expect(b.run('sync', () => 42)).toBe(42);
    expect(b.run('sync', () => { throw new Error('one'); })).toBeUndefined();
    b.settle('promise', Promise.reject(new Error('two')));
    b.errorHandler('rx')(new Error('three'));
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual(['sync: one']); // the call is already ending: later failures are not reported twice
  });

  it('runs timers and wrapped callbacks inside the boundary, and a throwing onFail escapes nothing', async () => {
    const seen: string[] = [];
    const b = new CallBoundary((_e, where) => {
      seen.push(where);
      throw new Error('onFail itself is broken');
    });
    b.later('timer', 1, () => { throw new Error('late'); });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['timer']);
    const c = new CallBoundary((_e, where) => seen.push(where));
    c.wrap('callback', (n: number) => { if (n > 1) throw new Error('big'); })(2);
    expect(seen).toEqual(['timer', 'callback']);
  });
});
