// `npm run reliability`: hostile input against the engine as `npm start` runs it, while real calls
// run beside it. Many connections send generated hostile messages (fast-check) to both call
// sockets — random bytes, binary frames, truncated, deeply nested and huge JSON, every event with
// wrong types and missing fields, events out of order, duplicate starts, wrong stream ids, invalid
// and giant base64, floods of tiny messages — plus sockets that never speak, slow readers and
// hostile HTTP. Figures: crashes, disturbed calls, RSS before/after, rejections counted, stack
// traces logged. Writes bench/results/reliability.{json,md}.
//   npm run reliability -- [--messages 100000] [--connections 32] [--out reliability]
// With --soak it runs the soak instead (bench/soak.ts): 200 calls for 30 minutes by default.
//   npm run reliability -- --soak 30m [--calls 200] [--relay 10] [--out soak]
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import WebSocket from 'ws';
import fc from 'fast-check';
import { startEngineProcess } from './load/engine-process.ts';
import { sampleProc } from './load/procs.ts';
import { simulateCall } from './load/twilio-sim.ts';
import { simulateRelayCall } from './load/relay-sim.ts';
import { parseDuration, parseProm, runSoak, writeSoakReport } from './soak.ts';
import { hostileRequests, slowClients } from './fuzz-http.ts';
import { parseInbound } from '../engine/twilio/media-protocol.ts';
import { parseRelayInbound } from '../engine/twilio/relay-protocol.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
if (process.argv.includes('--soak')) {
  const durationMs = parseDuration(process.argv[process.argv.indexOf('--soak') + 1] ?? '30m');
  const calls = arg('calls', 200);
  const relayCalls = arg('relay', Math.round(calls / 20));
  const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : 'soak';
  const sampleMs = durationMs >= 600_000 ? 10_000 : 2000;
  const warmupMs = Math.min(300_000, durationMs / 6);
  const r = await runSoak({ durationMs, calls, relayCalls, sampleMs, warmupMs, progress: (m) => process.stderr.write(m + '\n') });
  console.log(await writeSoakReport(r, out, `npm run reliability -- ${process.argv.slice(2).join(' ')}`));
  process.exit(r.alive && r.counters.consistent ? 0 : 1);
}
const MESSAGES = arg('messages', 100_000);
const HTTP_REQUESTS = arg('http', 4000);
const LOAD_AT_START = loadavg().map((x) => Math.round(x * 100) / 100);
/** The engine's defaults (engine/config.ts): MAX_MESSAGE_BYTES, and the socket's hard cap (call-socket.ts). */
const MAX_MESSAGE_BYTES = 64 * 1024;
const HARD_CAP = Math.max(MAX_MESSAGE_BYTES * 4, 256 * 1024);
const KEEPALIVE = { media: JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }), relay: JSON.stringify({ type: 'info', name: 'keepalive' }) };
const CONNECTIONS = arg('connections', 32);
const OUT = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : 'reliability';
const CALL_AUDIO = new Uint8Array((await import('node:fs')).readFileSync(new URL('../test/fixtures/audio/call-3turns.ulaw', import.meta.url)));
const TRANSCRIPTS = ['What are your opening hours on weekdays?', 'Is there parking at the clinic?', 'Do you treat children?'];

// ------------------------------------------------------------------ hostile messages

const json = fc.jsonValue({ maxDepth: 4 });
const sid = fc.oneof(fc.constantFrom('MZfuzz', 'MZother', ''), fc.string({ maxLength: 12 }), json);
const b64 = fc.oneof(fc.constantFrom('', '====', '%%%not-base64%%%', '/'.repeat(216), 'A'.repeat(300_000)), fc.base64String({ maxLength: 400 }), json);
const mediaEvent = fc.record(
  {
    event: fc.oneof(fc.constantFrom('connected', 'start', 'media', 'dtmf', 'mark', 'stop', 'clear', 'teleport'), json),
    sequenceNumber: fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), json),
    streamSid: sid,
    start: fc.oneof(fc.record({ streamSid: sid, callSid: sid, accountSid: sid, tracks: json, customParameters: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string(), json), { maxKeys: 6 }), json), mediaFormat: json }, { requiredKeys: [] }), json),
    media: fc.oneof(fc.record({ payload: b64, track: fc.oneof(fc.constantFrom('inbound', 'outbound'), json), chunk: json, timestamp: json }, { requiredKeys: [] }), json),
    dtmf: fc.oneof(fc.record({ digit: fc.oneof(fc.string({ maxLength: 3 }), json) }), json),
    mark: fc.oneof(fc.record({ name: fc.oneof(fc.string({ maxLength: 20 }), json) }), json),
  },
  { requiredKeys: [] },
);
const relayEvent = fc.record(
  {
    type: fc.oneof(fc.constantFrom('setup', 'prompt', 'dtmf', 'interrupt', 'error', 'info', 'dance'), json),
    sessionId: sid,
    callSid: sid,
    voicePrompt: fc.oneof(fc.string({ maxLength: 60 }), json),
    last: fc.oneof(fc.boolean(), json),
    lang: fc.oneof(fc.constantFrom('en-US', 'xx-NOPE', ''), json),
    digit: fc.oneof(fc.string({ maxLength: 3 }), json),
    utteranceUntilInterrupt: fc.oneof(fc.string({ maxLength: 40 }), json),
    durationUntilInterruptMs: json,
    customParameters: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), json, { maxKeys: 6 }), json),
  },
  { requiredKeys: [] },
);
const nested = fc.integer({ min: 100, max: 5000 }).map((d) => '['.repeat(d) + ']'.repeat(d));
/** One hostile frame: text (JSON-ish) or binary. */
const hostile: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 4, arbitrary: mediaEvent.map((m) => JSON.stringify(m)) },
  { weight: 4, arbitrary: relayEvent.map((m) => JSON.stringify(m)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.tuple(mediaEvent, fc.nat()).map(([m, n]) => { const s = JSON.stringify(m); return s.slice(0, n % (s.length + 1)); }) },
  { weight: 1, arbitrary: nested },
  { weight: 1, arbitrary: fc.string({ maxLength: 2 }) }, // the flood: tiny messages
  { weight: 1, arbitrary: fc.constant(JSON.stringify({ event: 'media', streamSid: 'MZfuzz', media: { payload: 'A'.repeat(2_000_000) } })) },
);
const validStart = (n: number) => JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: `MZfuzz${n}`, start: { streamSid: `MZfuzz${n}`, accountSid: 'AC', callSid: `CAfuzz${n}`, tracks: ['inbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } });

// ------------------------------------------------------------------ run

const engine = await startEngineProcess({ CALL_START_TIMEOUT_MS: '3000', PERFORMANCE_CACHE_ENABLED: 'true' });
const base = `http://127.0.0.1:${engine.port}`;
const wsBase = `ws://127.0.0.1:${engine.port}`;
const pid = engine.proc.pid!;
await new Promise((r) => setTimeout(r, 2000)); // warm: pre-warm and the first GCs
const rssMb = () => (sampleProc(pid)?.rssBytes ?? NaN) / 2 ** 20;
const rssBefore = rssMb();
const started = Date.now();
let sent = 0;
let keepalives = 0;
let connectionsOpened = 0;
let closedByEngine = 0;
let stop = false;
/** What the engine's parser makes of each hostile message, per transport: all sent, and those surely processed. */
const tally = {
  media: { sent: 0, all: {} as Record<string, number>, delivered: {} as Record<string, number>, hardCap: 0 },
  relay: { sent: 0, all: {} as Record<string, number>, delivered: {} as Record<string, number>, hardCap: 0 },
};
const closeCodes: Record<string, number> = {};

/** Real calls, one after another on a few lanes, for the whole run: each must be answered in full. */
const real = { media: 0, relay: 0, disturbed: [] as string[] };
async function mediaLane(): Promise<void> {
  while (!stop) {
    const r = await simulateCall({ baseUrl: base, audio: CALL_AUDIO, transcripts: TRANSCRIPTS, speed: 2, tailMs: 6000 }).catch((e: Error) => ({ error: e.message }) as const);
    if ('error' in r) {
      real.disturbed.push(`media: ${r.error}`);
      continue;
    }
    real.media++;
    const report = await (await fetch(`${base}/calls/${r.callSid}/metrics`)).json().catch(() => ({}));
    const answered = (report.turns ?? []).filter((t: { index: number; source?: string }) => t.index > 0 && t.source).length;
    if (r.closeCode !== 1000 || answered < TRANSCRIPTS.length) real.disturbed.push(`media ${r.callSid}: close ${r.closeCode}, ${answered}/${TRANSCRIPTS.length} turns answered`);
  }
}
async function relayLane(): Promise<void> {
  while (!stop) {
    try {
      const r = await simulateRelayCall({ baseUrl: base, workflow: 'demo-relay', steps: TRANSCRIPTS });
      real.relay++;
      if (r.turns.some((t) => t.timedOut || t.answer.trim() === '')) real.disturbed.push(`relay ${r.callSid}: a turn unanswered`);
    } catch (e) {
      real.disturbed.push(`relay: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 250)); // answers from the cache take milliseconds: a caller's pace, not a loop
  }
}

/**
 * The engine's own verdict on a message, before any state: the parser's error kind, 'valid', or
 * 'hard_cap' for one over uWebSockets.js's maxPayloadLength (the socket is dropped unread).
 */
function verdictOf(m: string | Buffer, transport: 'media' | 'relay'): string {
  if (Buffer.byteLength(m) > HARD_CAP) return 'hard_cap';
  const data = typeof m === 'string' ? m : (m.buffer.slice(m.byteOffset, m.byteOffset + m.byteLength) as ArrayBuffer);
  const r = transport === 'media' ? parseInbound(data, typeof m !== 'string', MAX_MESSAGE_BYTES) : parseRelayInbound(data, typeof m !== 'string', MAX_MESSAGE_BYTES);
  return r.ok ? 'valid' : r.error.kind;
}
const add = (r: Record<string, number>, k: string, n = 1) => void (r[k] = (r[k] ?? 0) + n);

/**
 * One hostile worker: connection after connection, each sending up to 300 generated messages.
 * A valid keepalive every 40 keeps most sockets under the 50-bad-in-a-row close (one worker in
 * four sends none, to exercise that close); at the end a ping whose pong proves the engine read
 * every message before it, then a normal close: those connections' messages are "delivered".
 * Messages over the hard cap end a connection, so one in four connections ends with one of them.
 */
async function fuzzer(n: number, quota: number): Promise<void> {
  const drawn = fc.sample(hostile, { numRuns: Math.min(quota, 2000), seed: n });
  const giants = drawn.filter((m) => Buffer.byteLength(m) > HARD_CAP);
  const samples = drawn.filter((m) => Buffer.byteLength(m) <= HARD_CAP);
  const verdicts = { media: samples.map((m) => verdictOf(m, 'media')), relay: samples.map((m) => verdictOf(m, 'relay')) };
  let i = 0;
  while (i < quota && !stop) {
    const transport = (n + connectionsOpened) % 2 === 0 ? 'media' : 'relay';
    const ws = new WebSocket(`${wsBase}/twilio/${transport}`);
    connectionsOpened++;
    const open = await new Promise<boolean>((r) => {
      ws.once('open', () => r(true));
      ws.once('error', () => r(false));
    });
    if (!open) continue;
    ws.on('error', () => {});
    let closed = false;
    let weClosed = false;
    let lastClose = 0;
    const closedP = new Promise<void>((r) =>
      ws.once('close', (code) => {
        closed = true;
        lastClose = code;
        if (!weClosed) {
          closedByEngine++;
          add(closeCodes, String(code));
        }
        r();
      }),
    );
    const slow = n % 8 === 0;
    if (slow) ws.pause(); // a slow reader
    if (transport === 'media' && n % 3 === 0) ws.send(validStart(n * 100_000 + i));
    const mine: Record<string, number> = {};
    const perConn = 20 + ((n * 7919 + i) % 180);
    let k = 0;
    while (!closed && i < quota && k < perConn && !stop) {
      const idx = i % samples.length;
      const m = samples[idx];
      const v = verdicts[transport][idx];
      ws.send(m, { binary: typeof m !== 'string' });
      sent++;
      tally[transport].sent++;
      add(mine, v);
      i++;
      k++;
      if (k % 40 === 0 && n % 4 !== 1) {
        ws.send(KEEPALIVE[transport]);
        keepalives++;
      }
      if (k % 64 === 0) await new Promise((r) => setImmediate(r));
      while (ws.bufferedAmount > 1_000_000 && !closed) await new Promise((r) => setTimeout(r, 5));
    }
    for (const [kind, c] of Object.entries(mine)) add(tally[transport].all, kind, c);
    if (!closed && giants.length && connectionsOpened % 4 === 0 && i < quota) {
      // One over the hard cap: uWebSockets.js drops the socket (1006) and the engine counts it.
      ws.send(giants[i % giants.length]);
      sent++;
      i++;
      tally[transport].sent++;
      tally[transport].hardCap++;
      if (slow) ws.resume(); // a paused ws never emits 'close': it waits to read what is buffered first
      await closedP;
      add(tally[transport].all, 'hard_cap');
      if (lastClose === 1006) add(tally[transport].delivered, 'hard_cap');
      continue;
    }
    if (!closed) {
      if (slow) ws.resume();
      const pongP = new Promise<boolean>((r) => ws.once('pong', () => r(true)));
      ws.ping();
      const pong = await Promise.race([pongP, closedP.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
      if (pong && !closed) for (const [kind, c] of Object.entries(mine)) add(tally[transport].delivered, kind, c);
      if (!closed) {
        weClosed = true;
        ws.close(1000);
        await Promise.race([closedP, new Promise((r) => setTimeout(r, 5000))]);
        if (!closed) ws.terminate();
      }
    } else await closedP;
  }
}

/** Sockets that open and never speak: the engine must close them (CALL_START_TIMEOUT_MS). */
async function silentSockets(count: number): Promise<number> {
  const closes = await Promise.all(
    Array.from({ length: count }, () => new Promise<number>((resolve) => {
      const ws = new WebSocket(wsBase + '/twilio/media');
      ws.on('error', () => resolve(-1));
      ws.once('close', (code) => resolve(code));
      // Timed from the open: drawing the fuzzers' samples holds this process's event loop for
      // seconds at the start of a 100,000-message run, and a timer from here expired before the
      // handshake was even sent (0/20 closed).
      ws.once('open', () => setTimeout(() => (ws.terminate(), resolve(0)), 10_000));
      setTimeout(() => (ws.terminate(), resolve(-2)), 60_000);
    })),
  );
  const other = closes.filter((c) => c !== 1008);
  if (other.length) process.stderr.write(`\nsilent sockets not closed with 1008: ${JSON.stringify(other)} (-1 error, 0 still open 10 s after it opened, -2 never opened)\n`);
  return closes.length - other.length;
}

const metricsNow = async () => parseProm(await (await fetch(`${base}/metrics`)).text());

const progress = setInterval(() => process.stderr.write(`\r${sent} hostile messages sent, ${real.media + real.relay} real calls done, ${real.disturbed.length} disturbed   `), 1000);
const lanes = [mediaLane(), mediaLane(), relayLane()];
const silent = silentSockets(20);
const http = hostileRequests(base, HTTP_REQUESTS);
const slowHttp = slowClients(base, 40, 30_000);
const per = Math.ceil(MESSAGES / CONNECTIONS);
await Promise.all(Array.from({ length: CONNECTIONS }, (_, n) => fuzzer(n, per)));
const [silentClosed, httpResult, slowResult] = await Promise.all([silent, http, slowHttp]);
stop = true;
await Promise.all(lanes);
clearInterval(progress);
process.stderr.write('\n');
await new Promise((r) => setTimeout(r, 2000));
const rssAfter = rssMb();
const alive = engine.alive();
const m = alive ? await metricsNow() : new Map<string, number>();

// Counted against sent: each parser kind must lie between the messages surely processed and all sent.
const PARSER_KINDS = new Set(['not_json', 'binary_frame', 'oversized', 'unknown_event', 'unknown_type', 'missing_field', 'bad_payload', 'bad_value']);
const counted = { media: {} as Record<string, number>, relay: {} as Record<string, number> };
for (const [key, v] of m) {
  const mm = /^weaver_protocol_errors_total\{transport="(\w+)",kind="(\w+)"\}$/.exec(key) ?? /^weaver_protocol_errors_total\{kind="(\w+)",transport="(\w+)"\}$/.exec(key);
  if (!mm) continue;
  const [t, k] = key.indexOf('transport') < key.indexOf('kind') ? [mm[1], mm[2]] : [mm[2], mm[1]];
  if (t === 'media' || t === 'relay') counted[t][k] = v;
}
const rejectionRows: Array<{ transport: string; kind: string; delivered: number; sent: number; counted: number; ok: boolean }> = [];
for (const t of ['media', 'relay'] as const) {
  const kinds = new Set([...Object.keys(tally[t].all), ...Object.keys(counted[t])]);
  for (const k of [...kinds].sort()) {
    if (k === 'valid' || k === 'hard_cap') continue;
    const parser = PARSER_KINDS.has(k);
    const c = counted[t][k] ?? 0;
    const lo = tally[t].delivered[k] ?? 0;
    const hi = tally[t].all[k] ?? 0;
    rejectionRows.push({ transport: t, kind: k, delivered: parser ? lo : NaN, sent: parser ? hi : NaN, counted: c, ok: parser ? c >= lo && c <= hi : true });
  }
  const tooLarge = m.get(`weaver_sockets_refused_total{transport="${t}",reason="message_too_large"}`) ?? 0;
  const lo = tally[t].delivered.hard_cap ?? 0;
  rejectionRows.push({ transport: t, kind: 'message_too_large (dropped by uWS)', delivered: lo, sent: tally[t].hardCap, counted: tooLarge, ok: tooLarge >= lo && tooLarge <= tally[t].hardCap });
}
const webhookRows = Object.entries(httpResult.webhook4xx).flatMap(([route, byStatus]) =>
  Object.entries(byStatus).map(([status, seen]) => {
    const c = m.get(`weaver_webhook_rejected_total{route="${route}",status="${status}"}`) ?? 0;
    return { route, status, seen, counted: c, ok: c === seen };
  }),
);
const stackRe = /"stack"|^\s+at .+:\d+:\d+\)?$|Uncaught|UnhandledPromiseRejection/;
const stackLines = engine.logs.filter((l) => stackRe.test(l));
const errorLines = engine.logs.filter((l) => /"level":(50|60)/.test(l));
engine.proc.kill('SIGTERM');
const exitCode = await engine.exited;
const totalCounted = rejectionRows.reduce((a, r) => a + r.counted, 0);

const result = {
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30), node: process.version },
  loadAverage: { atStart: LOAD_AT_START, atEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
  command: `npm run reliability -- --messages ${MESSAGES} --connections ${CONNECTIONS}`,
  durationS: Math.round((Date.now() - started) / 1000),
  hostileMessages: sent,
  keepalivesSent: keepalives,
  byTransport: { media: tally.media.sent, relay: tally.relay.sent },
  hostileConnections: connectionsOpened,
  socketsClosedByEngine: closedByEngine,
  closeCodesFromEngine: closeCodes,
  silentSocketsClosed: `${silentClosed}/20`,
  hostileHttp: httpResult,
  slowHttpClients: slowResult,
  engineCrashed: !alive,
  exitCodeAfterSigterm: exitCode,
  realCalls: { media: real.media, relay: real.relay, disturbed: real.disturbed.length, details: real.disturbed.slice(0, 20) },
  rssMb: { before: rssBefore, after: rssAfter },
  rejections: { totalCounted, allWithinBounds: rejectionRows.every((r) => r.ok), rows: rejectionRows },
  webhookRejections: { allCounted: webhookRows.every((r) => r.ok), rows: webhookRows },
  stackTracesInLog: stackLines.length,
  stackTraceSamples: stackLines.slice(0, 5),
  errorLogLines: errorLines.length,
  errorLogSamples: errorLines.slice(0, 5).map((l) => l.slice(0, 300)),
  logLines: engine.logs.length,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/${OUT}.json`, import.meta.url), JSON.stringify(result, null, 2) + '\n');
const fmt = (v: number) => (Number.isNaN(v) ? '–' : String(v));
const md = [
  `# Reliability run (${result.at})`,
  '',
  `Command: \`${result.command}\`; machine: ${result.machine.cpus} vCPU ${result.machine.model}, ${result.machine.memGb} GiB, Node ${result.machine.node}; ${result.durationS} s; load average (1/5/15 min) at the start ${LOAD_AT_START.join(' / ')}, at the end ${result.loadAverage.atEnd.join(' / ')} (other work shares this machine).`,
  '',
  '| figure | value | goal |',
  '|---|---|---|',
  `| hostile messages sent (media / relay), on ${connectionsOpened} connections | ${sent} (${tally.media.sent} / ${tally.relay.sent}) | ≥ 100,000 |`,
  `| engine crashes | ${result.engineCrashed ? '**1**' : 0} | 0 |`,
  `| real calls run beside it (media / relay) / disturbed | ${real.media} / ${real.relay} / **${real.disturbed.length}** | 0 disturbed |`,
  `| rejections counted (weaver_protocol_errors_total + message_too_large) | ${totalCounted}; every kind within bounds: ${result.rejections.allWithinBounds ? 'yes' : '**no**'} | every one |`,
  `| webhook 4xx seen by the client = weaver_webhook_rejected_total | ${result.webhookRejections.allCounted ? 'yes' : '**no**'} (${webhookRows.reduce((a, r) => a + r.seen, 0)} refusals) | yes |`,
  `| stack traces in the engine log (${engine.logs.length} lines) / error-level lines | ${stackLines.length} / ${errorLines.length} | 0 |`,
  `| engine RSS before / after, MB | ${rssBefore.toFixed(0)} / ${rssAfter.toFixed(0)} | |`,
  `| sockets closed by the engine, by close code | ${Object.entries(closeCodes).map(([k, v]) => `${k}: ${v}`).join(', ')} | |`,
  `| silent sockets closed by the start timeout | ${result.silentSocketsClosed} | all |`,
  `| hostile HTTP requests (${httpResult.requests}, 200 at a time) by route and status | ${Object.entries(httpResult.byRoute).map(([r, st]) => `${r} ${Object.entries(st).map(([k, v]) => `${k}×${v}`).join(' ')}`).join('; ')} | no 5xx |`,
  `| slow HTTP clients (${slowResult.opened}, a byte every 500 ms for 30 s): closed by the engine / still open | ${slowResult.closedByEngine} (after p50 ${slowResult.closeAfterS.p50} s, max ${slowResult.closeAfterS.max} s) / ${slowResult.stillOpenAtEnd} | |`,
  `| good webhook requests answered while they hung on (sent from a worker thread, 5 s timeout; answer ms p50 / max) | ${slowResult.goodRequestsAnsweredMeanwhile} of ${slowResult.goodRequestsAnsweredMeanwhile + slowResult.goodRequestsFailed} (${slowResult.goodRequestMs.p50} / ${slowResult.goodRequestMs.max})${slowResult.goodRequestFailures.map((f) => `; at ${f.atS} s: ${f.why}`).join('')} | all |`,
  `| exit code after SIGTERM | ${exitCode} | 0 |`,
  '',
  'Rejections by kind: the engine\'s count against what its own parser makes of the messages sent (a lower bound from connections whose every message was read, proven by a ping answered after them, and an upper bound of all sent; messages sent after the engine ended a call are dropped unread). Order and state kinds (wrong_order, wrong_stream, duplicate_stream, bad_language, no_start) depend on the call, so only their count is given.',
  '',
  '| transport | kind | surely read | sent | counted | within |',
  '|---|---|---|---|---|---|',
  ...rejectionRows.map((r) => `| ${r.transport} | ${r.kind} | ${fmt(r.delivered)} | ${fmt(r.sent)} | ${r.counted} | ${r.ok ? 'yes' : '**no**'} |`),
  '',
  ...(real.disturbed.length ? ['Disturbed calls:', '', ...real.disturbed.slice(0, 20).map((d) => `- ${d}`), ''] : []),
  ...(stackLines.length ? ['Stack traces (first 5):', '', ...stackLines.slice(0, 5).map((l) => `    ${l.slice(0, 300)}`), ''] : []),
];
writeFileSync(new URL(`./results/${OUT}.md`, import.meta.url), md.join('\n'));
console.log(md.join('\n'));
process.exit(result.engineCrashed || real.disturbed.length > 0 ? 1 : 0);
