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
import { cpus, totalmem } from 'node:os';
import WebSocket from 'ws';
import fc from 'fast-check';
import { startEngineProcess } from './load/engine-process.ts';
import { sampleProc } from './load/procs.ts';
import { simulateCall } from './load/twilio-sim.ts';
import { simulateRelayCall } from './load/relay-sim.ts';
import { parseDuration, runSoak, writeSoakReport } from './soak.ts';

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
let connectionsOpened = 0;
let closedByEngine = 0;
let stop = false;

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
      if (r.turns.some((t) => t.answer.trim() === '')) real.disturbed.push(`relay ${r.callSid}: an empty answer`);
    } catch (e) {
      real.disturbed.push(`relay: ${(e as Error).message}`);
    }
  }
}

/** One hostile connection: a start now and then keeps the socket alive for more garbage. */
async function fuzzer(n: number, quota: number): Promise<void> {
  const samples = fc.sample(hostile, { numRuns: Math.min(quota, 2000), seed: n });
  let i = 0;
  while (i < quota && !stop) {
    const path = (n + connectionsOpened) % 2 === 0 ? '/twilio/media' : '/twilio/relay';
    const ws = new WebSocket(wsBase + path);
    connectionsOpened++;
    const open = await new Promise<boolean>((r) => {
      ws.once('open', () => r(true));
      ws.once('error', () => r(false));
    });
    if (!open) continue;
    ws.on('error', () => {});
    let closed = false;
    ws.once('close', () => {
      closed = true;
      closedByEngine++;
    });
    const mode = n % 8;
    if (mode === 0) ws.pause(); // a slow reader
    if (path === '/twilio/media' && n % 3 === 0) ws.send(validStart(n * 100_000 + i));
    while (!closed && i < quota && !stop) {
      const m = samples[i % samples.length];
      ws.send(m, { binary: typeof m !== 'string' });
      sent++;
      i++;
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
      while (ws.bufferedAmount > 1_000_000 && !closed) await new Promise((r) => setTimeout(r, 5));
    }
    if (!closed) ws.terminate();
  }
}

/** Sockets that open and never speak: the engine must close them (CALL_START_TIMEOUT_MS). */
async function silentSockets(count: number): Promise<number> {
  const closes = await Promise.all(
    Array.from({ length: count }, () => new Promise<number>((resolve) => {
      const ws = new WebSocket(wsBase + '/twilio/media');
      ws.on('error', () => resolve(-1));
      ws.once('close', (code) => resolve(code));
      setTimeout(() => (ws.terminate(), resolve(0)), 10_000);
    })),
  );
  return closes.filter((c) => c === 1008).length;
}

/** Hostile HTTP: malformed and oversized bodies, odd query strings, many at once. */
async function hostileHttp(count: number): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  const bodies = fc.sample(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')), fc.constant('x='.repeat(600_000))), { numRuns: count, seed: 7 });
  const paths = ['/twilio/voice', '/twilio/status', '/twilio/relay/action', '/twilio/voice?workflow=%ZZ', '/calls/%00', '/twilio/voice?' + 'a=1&'.repeat(2000), '/health?x[]=1'];
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      bodies.slice(i, i + 50).map(async (body, j) => {
        const r = await fetch(base + paths[(i + j) % paths.length], { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }).catch(() => undefined);
        const k = r ? String(r.status) : 'refused';
        statuses[k] = (statuses[k] ?? 0) + 1;
      }),
    );
  }
  return statuses;
}

async function rejectionsCounted(): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('weaver_protocol_errors_total{'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

const progress = setInterval(() => process.stderr.write(`\r${sent} hostile messages sent, ${real.media + real.relay} real calls done, ${real.disturbed.length} disturbed   `), 1000);
const lanes = [mediaLane(), mediaLane(), relayLane()];
const silent = silentSockets(20);
const http = hostileHttp(2000);
const per = Math.ceil(MESSAGES / CONNECTIONS);
await Promise.all(Array.from({ length: CONNECTIONS }, (_, n) => fuzzer(n, per)));
const [silentClosed, httpStatuses] = await Promise.all([silent, http]);
stop = true;
await Promise.all(lanes);
clearInterval(progress);
process.stderr.write('\n');
await new Promise((r) => setTimeout(r, 2000));
const rssAfter = rssMb();
const alive = engine.alive();
const rejections = alive ? await rejectionsCounted() : NaN;
const stackTraces = engine.logs.filter((l) => l.includes('"stack"')).length;
engine.proc.kill('SIGTERM');
const exitCode = await engine.exited;

const result = {
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30), node: process.version },
  command: `npm run reliability -- --messages ${MESSAGES} --connections ${CONNECTIONS}`,
  durationS: Math.round((Date.now() - started) / 1000),
  hostileMessages: sent,
  hostileConnections: connectionsOpened,
  socketsClosedByEngine: closedByEngine,
  silentSocketsClosed: `${silentClosed}/20`,
  hostileHttp: httpStatuses,
  engineCrashed: !alive,
  exitCodeAfterSigterm: exitCode,
  realCalls: { media: real.media, relay: real.relay, disturbed: real.disturbed.length, details: real.disturbed.slice(0, 20) },
  rssMb: { before: rssBefore, after: rssAfter },
  rejectionsCounted: rejections,
  stackTracesInLog: stackTraces,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/${OUT}.json`, import.meta.url), JSON.stringify(result, null, 2) + '\n');
const md = [
  `# Reliability run (${result.at})`,
  '',
  `Command: \`${result.command}\`; machine: ${result.machine.cpus} vCPU ${result.machine.model}, ${result.machine.memGb} GiB, Node ${result.machine.node}; ${result.durationS} s.`,
  '',
  '| figure | value | goal |',
  '|---|---|---|',
  `| hostile messages sent (both call sockets, ${connectionsOpened} connections) | ${sent} | ≥ 100,000 |`,
  `| engine crashes | ${result.engineCrashed ? 1 : 0} | 0 |`,
  `| real calls run beside it (media / relay) / disturbed | ${real.media} / ${real.relay} / **${real.disturbed.length}** | 0 disturbed |`,
  `| rejections counted in weaver_protocol_errors_total | ${rejections} | every one |`,
  `| stack traces in the log | ${stackTraces} | 0 |`,
  `| engine RSS before / after, MB | ${rssBefore.toFixed(0)} / ${rssAfter.toFixed(0)} | |`,
  `| silent sockets closed by the start timeout | ${result.silentSocketsClosed} | all |`,
  `| hostile HTTP requests by status | ${Object.entries(httpStatuses).map(([k, v]) => `${k}: ${v}`).join(', ')} | no 5xx |`,
  `| exit code after SIGTERM | ${exitCode} | 0 |`,
  '',
];
writeFileSync(new URL(`./results/${OUT}.md`, import.meta.url), md.join('\n'));
console.log(md.join('\n'));
process.exit(result.engineCrashed || real.disturbed.length > 0 ? 1 : 0);
