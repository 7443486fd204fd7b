// One call's bad input must never end the engine (issue 19). The engine runs as its own process
// (`npm start`'s entry point) so that a fault which would kill it shows as an exit, not as a
// crashed test worker. Each case also checks that a bystander call is untouched.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import WebSocket from 'ws';
import fc from 'fast-check';
import { startEngineProcess, type EngineProcess } from '../../bench/load/engine-process.ts';

let e: EngineProcess;
beforeAll(async () => {
  e = await startEngineProcess({ CALL_START_TIMEOUT_MS: '400', PERFORMANCE_CACHE_ENABLED: 'false' });
});
afterAll(async () => {
  e?.proc.kill('SIGKILL');
});

/** A socket to the engine that records what it receives and how it closed. */
class Peer {
  readonly ws: WebSocket;
  readonly got: any[] = [];
  close?: { code: number; reason: string };
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  constructor(path: '/twilio/media' | '/twilio/relay') {
    this.ws = new WebSocket(`ws://127.0.0.1:${e.port}${path}`);
    this.ws.on('error', () => {}); // a refused or reset socket is an outcome here, not a test error
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('close', (code) => reject(new Error(`socket closed (${code}) before it opened; engine alive: ${e.alive()}`)));
    });
    this.opened.catch(() => {}); // awaited where it matters
    this.ws.on('message', (d) => {
      try {
        this.got.push(JSON.parse(d.toString()));
      } catch {
        this.got.push(d.toString());
      }
    });
    this.closed = new Promise((r) => this.ws.once('close', (code, reason) => r((this.close = { code, reason: reason.toString() }))));
  }
  send(m: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }
  async until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; close: ${JSON.stringify(this.close)}; engine alive: ${e.alive()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const start = (streamSid: string, callSid: string, customParameters: Record<string, unknown> = {}) => ({
  event: 'start',
  sequenceNumber: '1',
  streamSid,
  start: { streamSid, accountSid: 'AC1', callSid, tracks: ['inbound'], customParameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
});

/** A media call that has started and hears its greeting. */
async function mediaCall(streamSid: string, callSid: string, params: Record<string, unknown> = {}): Promise<Peer> {
  const p = new Peer('/twilio/media');
  await p.opened;
  p.send(start(streamSid, callSid, params));
  await p.until(() => p.got.some((m) => m.event === 'media'), `${streamSid}'s greeting audio`);
  return p;
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${e.port}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function expectEngineServing(): Promise<void> {
  expect(e.alive()).toBe(true);
  const h = await (await fetch(`http://127.0.0.1:${e.port}/health`)).json();
  expect(['ok', 'degraded']).toContain(h.status);
}

describe('a call fault stays in its call', () => {
  it('a start with an unknown or blank language falls back to the workflow language, warns and counts it', async () => {
    const bystander = await mediaCall('MZbystander1', 'CAbystander1');
    const before = await metric('weaver_protocol_errors_total', { transport: 'media', kind: 'bad_language' });
    for (const [i, language] of ['xx-NOPE', 'tlh-KLINGON', ' '].entries()) {
      const p = await mediaCall(`MZlang${i}`, `CAlang${i}`, { language });
      expect(p.close).toBeUndefined(); // served, not dropped
      p.ws.close();
    }
    expect(await metric('weaver_protocol_errors_total', { transport: 'media', kind: 'bad_language' })).toBe(before + 3);
    expect(bystander.close).toBeUndefined();
    bystander.ws.close();
    await expectEngineServing();
  });

  it('a relay setup with an unknown language is answered in the workflow language and counted', async () => {
    const p = new Peer('/twilio/relay');
    await p.opened;
    p.send({ type: 'setup', sessionId: 'VX1', callSid: 'CArelaylang', customParameters: { workflow: 'demo-relay', language: 'xx-NOPE' } });
    p.send({ type: 'prompt', voicePrompt: 'Is there parking at the clinic?', lang: 'en-US', last: true });
    await p.until(() => p.got.some((m) => m.type === 'text' && m.last === true), 'the answer');
    expect(await metric('weaver_protocol_errors_total', { transport: 'relay', kind: 'bad_language' })).toBeGreaterThanOrEqual(1);
    p.ws.close();
    await expectEngineServing();
  });

  it('two streams of one call coexist (a fork beside the bidirectional stream); a reused streamSid is refused alone', async () => {
    const a = await mediaCall('MZforkA', 'CAshared');
    const b = await mediaCall('MZforkB', 'CAshared'); // same callSid, another stream: both served
    const dup = new Peer('/twilio/media');
    await dup.opened;
    dup.send(start('MZforkA', 'CAshared'));
    expect((await dup.closed).code).toBe(1008);
    expect(dup.close!.reason).toContain('duplicate streamSid');
    // The first two streams are still live: a key press on A is answered with new audio.
    const n = a.got.length;
    a.send({ event: 'dtmf', streamSid: 'MZforkA', dtmf: { digit: '1' } });
    await a.until(() => a.got.slice(n).some((m) => m.event === 'media'), 'an answer on stream A');
    expect(a.close).toBeUndefined();
    expect(b.close).toBeUndefined();
    a.ws.close();
    b.ws.close();
    await expectEngineServing();
  });

  it('closes sockets that never send start or setup, with a reason, and counts them', async () => {
    const media = new Peer('/twilio/media');
    const relay = new Peer('/twilio/relay');
    await Promise.all([media.opened, relay.opened]);
    media.send({ event: 'connected', protocol: 'Call', version: '1.0.0' }); // connected is not start
    expect(await media.closed).toEqual({ code: 1008, reason: 'no start within 400 ms' });
    expect(await relay.closed).toEqual({ code: 1008, reason: 'no setup within 400 ms' });
    expect(await metric('weaver_protocol_errors_total', { transport: 'media', kind: 'no_start' })).toBeGreaterThanOrEqual(1);
    expect(await metric('weaver_protocol_errors_total', { transport: 'relay', kind: 'no_start' })).toBeGreaterThanOrEqual(1);
    await expectEngineServing();
  });
});

// ---------------------------------------------------------------- generated start/setup messages

const json = fc.jsonValue({ maxDepth: 3 });
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', ' ', 'xx-NOPE', 'tlh-KLINGON', 'zh-HK', 'yue', 'en', 'EN-us', 'demo', 'demo-relay', 'nope', '__proto__'));
const params = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom('language', 'workflow', 'from', '__proto__', 'constructor', 'toString'), fc.string({ maxLength: 8 })), fc.oneof(text, json), { maxKeys: 5 }),
  json,
);
const sid = fc.oneof(fc.constantFrom('MZfuzz', 'MZbystander2', 'CAshared', 'CAbystander2'), fc.string({ maxLength: 10 }), json);
const mediaStart = fc.record(
  {
    event: fc.constant('start'),
    sequenceNumber: fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), json),
    streamSid: sid,
    start: fc.oneof(
      fc.record(
        { streamSid: sid, accountSid: sid, callSid: sid, tracks: fc.oneof(fc.array(fc.constantFrom('inbound', 'outbound', 'x')), json), customParameters: params, mediaFormat: fc.oneof(fc.record({ encoding: fc.constantFrom('audio/x-mulaw', 'audio/l16'), sampleRate: json, channels: json }), json) },
        { requiredKeys: [] },
      ),
      json,
    ),
  },
  { requiredKeys: ['event'] },
);
const relaySetup = fc.record(
  { type: fc.constant('setup'), sessionId: sid, callSid: sid, from: text, to: text, direction: text, customParameters: params },
  { requiredKeys: ['type'] },
);
/** What may follow a start on the same socket: anything of either protocol, in any order. */
const followUp = fc.oneof(
  mediaStart,
  relaySetup,
  fc.record({ event: fc.constantFrom('media', 'dtmf', 'mark', 'stop', 'connected'), streamSid: sid, media: fc.oneof(fc.record({ payload: fc.constantFrom('', '////', '/'.repeat(216)), track: fc.constantFrom('inbound', 'outbound') }), json), dtmf: fc.oneof(fc.record({ digit: text }), json), mark: fc.oneof(fc.record({ name: text }), json) }, { requiredKeys: ['event'] }),
  fc.record({ type: fc.constantFrom('prompt', 'dtmf', 'interrupt', 'error', 'info'), voicePrompt: text, last: fc.oneof(fc.boolean(), json), digit: text, utteranceUntilInterrupt: text, durationUntilInterruptMs: json, lang: text }, { requiredKeys: ['type'] }),
  json,
);

describe('generated start/setup messages and custom parameters', () => {
  it('never end the process nor disturb another call', async () => {
    const bystander = await mediaCall('MZbystander2', 'CAbystander2');
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/twilio/media' as const, '/twilio/relay' as const), fc.oneof(mediaStart, relaySetup), fc.array(followUp, { maxLength: 6 }), async (path, first, rest) => {
        runs++;
        const p = new Peer(path);
        await Promise.race([p.opened, p.closed]).catch(() => {});
        for (const m of [first, ...rest]) p.send(m);
        await new Promise((r) => setTimeout(r, 30));
        p.ws.terminate();
        return e.alive();
      }),
      { numRuns: 150, seed: 19 },
    );
    expect(runs).toBe(150);
    await new Promise((r) => setTimeout(r, 200)); // let the last sockets' teardown run
    await expectEngineServing();
    // Hostile input is refused by validation, not caught by the error boundary as a crash.
    expect(await metric('weaver_errors_total', { kind: 'call_exception' })).toBe(0);
    // The bystander call was never closed and its greeting kept flowing to the end.
    expect(bystander.close).toBeUndefined();
    const n = bystander.got.length;
    bystander.send(start('MZbystander2', 'CAbystander2')); // a second start on its own stream: rejected, not fatal
    bystander.send({ event: 'dtmf', streamSid: 'MZbystander2', dtmf: { digit: '1' } });
    await bystander.until(() => bystander.got.slice(n).some((m) => m.event === 'media'), 'the bystander answered after the fuzz');
    bystander.ws.close();
  });
});
