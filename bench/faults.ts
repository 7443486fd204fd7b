// `npx tsx bench/faults.ts`: what each fault costs the calls in flight, under light load (10
// calls). Each fault runs against a fresh engine: in this process where the fault is injected
// from inside (a worker thread killed, a provider, Redis or PostgreSQL cut through a loopback
// fake or proxy, a corrupt cache file, memory ballast), as `npm start`'s process where it hits
// the process (SIGTERM, RLIMIT_NOFILE lowered with prlimit). Per fault: calls in flight, calls
// the fault should touch, calls disturbed (a turn lost, or closed by the engine), turns lost,
// frames lost, recovery time and what the log said. Writes bench/results/faults.{json,md}.
//   npx tsx bench/faults.ts [--calls 10] [--only dsp,embed,...] [--out faults]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { loadConfig, type Config } from '../engine/config.ts';
import { createEngine, type Engine } from '../engine/engine.ts';
import { startServer, type Server } from '../engine/server.ts';
import { routeGroups } from '../engine/routes.ts';
import { RelayCaller } from './load/relay-sim.ts';
import { simulateCall } from './load/twilio-sim.ts';
import { startEngineProcess } from './load/engine-process.ts';
import { fixture } from '../test/support/engine.ts';
import { startFakeOpenAi, type Fault } from '../test/support/fake-openai.ts';
import { findRedis, RedisProxy } from '../test/scale/redis-server.ts';
import { postgresMissing, pgSchema, PG_BASE_URL } from '../test/history/pg.ts';
import { startTcpRelay } from '../test/support/tcp-relay.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const CALLS = Number(opt('calls') ?? 10);
const ONLY = opt('only')?.split(',');
const OUT = opt('out') ?? 'faults';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const QUESTION = 'Is there parking at the clinic?';

interface Row {
  fault: string;
  calls: number;
  /** Calls the fault should touch (the rest should not notice). */
  touched: number | string;
  disturbed: number;
  turnsDuring: number;
  turnsLost: number;
  framesLost?: number;
  /** Turn latency (prompt to last token) during the fault vs before it, ms. */
  latencyMs?: { before: number | null; duringP50: number | null; duringMax: number | null };
  recoveryMs: number | null;
  recovery: string;
  log: string[];
  notes: string;
}

// ------------------------------------------------------------------ engines

interface InProc {
  engine: Engine;
  server: Server;
  url: string;
  logs: string[];
  stop(): Promise<void>;
}

async function inProcess(overrides: Partial<Record<keyof Config, unknown>>): Promise<InProc> {
  const logs: string[] = [];
  const log = pino({ level: 'info', base: null }, { write: (s: string) => void logs.push(s) });
  const config = loadConfig({}, { PORT: 0, HOST: '127.0.0.1', DSP_THREADS: 1, CACHE_DIR: mkdtempSync(join(tmpdir(), 'faults-cache-')), HISTORY_PATH: join(mkdtempSync(join(tmpdir(), 'faults-hist-')), 'h.sqlite'), SHUTDOWN_GRACE_MS: 0, PERFORMANCE_CACHE_ENABLED: false, ...overrides });
  const engine = await createEngine(config, { log });
  const server = await startServer(engine, routeGroups);
  return { engine, server, url: `http://127.0.0.1:${server.port}`, logs, stop: () => server.shutdown(0) };
}

/** Distinct warn/error messages (and the given info ones) logged after `from` (index into logs). */
function logSummary(logs: string[], from: number, info: RegExp = /admitting|writable again|shutting down|Redis/i): string[] {
  const seen = new Map<string, number>();
  for (const l of logs.slice(from)) {
    let j: { level?: number; msg?: string };
    try {
      j = JSON.parse(l);
    } catch {
      continue;
    }
    if (!j.msg || ((j.level ?? 0) < 40 && !info.test(j.msg))) continue;
    const m = j.msg.length > 110 ? j.msg.slice(0, 107) + '…' : j.msg;
    seen.set(m, (seen.get(m) ?? 0) + 1);
  }
  return [...seen].slice(0, 4).map(([m, n]) => (n > 1 ? `${m} (×${n})` : m));
}

// ------------------------------------------------------------------ relay load: callers asking turn after turn

interface TurnRec {
  sent: number;
  done: number;
  ok: boolean;
  ms: number | undefined;
  source?: string;
}

class RelayLoad {
  readonly callers: Array<{ c: RelayCaller; turns: TurnRec[]; closedByEngine: boolean }> = [];
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly questions: string[] = [QUESTION],
    private readonly sourceOf?: (callSid: string) => string | undefined,
  ) {}

  async start(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const c = new RelayCaller({ baseUrl: this.url, workflow: 'demo-relay', answerTimeoutMs: 8000 });
      await c.connect();
      const rec = { c, turns: [] as TurnRec[], closedByEngine: false };
      this.callers.push(rec);
      this.loops.push(this.loop(rec, i));
    }
  }

  private async loop(rec: RelayLoad['callers'][number], i: number): Promise<void> {
    let k = i;
    await sleep(i * 37); // spread the callers' turns
    while (!this.stopped) {
      if (rec.c.closeCode !== undefined) {
        rec.closedByEngine = true;
        return;
      }
      const sent = now();
      const r = await rec.c.turn(this.questions[k++ % this.questions.length]);
      const source = this.sourceOf?.(rec.c.callSid);
      const ok = !r.timedOut && r.answer.trim().length > 0 && source !== 'fallback';
      if (rec.c.closeCode !== undefined && !ok) {
        rec.closedByEngine = true;
        rec.turns.push({ sent, done: now(), ok, ms: r.lastTokenMs, source });
        return;
      }
      rec.turns.push({ sent, done: now(), ok, ms: r.lastTokenMs, source });
      await sleep(250);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    for (const { c } of this.callers) await c.hangup().catch(() => {});
  }

  /** Turns overlapping [from, to], and the calls disturbed (a lost turn, or closed by the engine). */
  summary(from: number, to: number): Pick<Row, 'disturbed' | 'turnsDuring' | 'turnsLost' | 'latencyMs'> {
    const during = this.callers.flatMap((x) => x.turns.filter((t) => t.done >= from && t.sent <= to));
    const before = this.callers.flatMap((x) => x.turns.filter((t) => t.done < from && t.ok && t.ms !== undefined)).map((t) => t.ms!);
    const dur = during.filter((t) => t.ms !== undefined).map((t) => t.ms!);
    return {
      disturbed: this.callers.filter((x) => x.closedByEngine || x.turns.some((t) => !t.ok)).length,
      turnsDuring: during.length,
      turnsLost: this.callers.reduce((a, x) => a + x.turns.filter((t) => !t.ok).length, 0),
      latencyMs: { before: pct(before, 50), duringP50: pct(dur, 50), duringMax: dur.length ? Math.round(Math.max(...dur)) : null },
    };
  }
}

function pct(xs: number[], p: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]);
}

async function until(cond: () => boolean | Promise<boolean>, ms = 30_000, step = 5): Promise<number | null> {
  const t0 = now();
  while (now() - t0 < ms) {
    if (await cond()) return Math.round(now() - t0);
    await sleep(step);
  }
  return null;
}

// ------------------------------------------------------------------ the faults

const scenarios: Record<string, () => Promise<Row>> = {
  async dsp() {
    const t = await inProcess({ DSP_THREADS: 2 });
    const audio = fixture('call-3turns.ulaw');
    const transcripts = ['What are your opening hours on weekdays?', 'Is there parking at the clinic?', 'Do you treat children?'];
    const sids: string[] = [];
    const calls = Array.from({ length: CALLS }, (_, i) =>
      sleep(i * 100).then(() => simulateCall({ baseUrl: t.url, audio, transcripts, inject: (_ws, sid) => void sids.push(sid) })),
    );
    await sleep(3000); // the calls are live, before their first utterance ends
    const victim = sids[0];
    const shard = t.engine.dsp.shardOf(victim);
    const onShard = sids.filter((s) => t.engine.dsp.shardOf(s) === shard).length;
    const from = t.logs.length;
    const before = t.engine.dsp.stats().shards[shard].framesProcessed;
    t.engine.dsp.injectWorkerFault(victim, 'exit');
    const recoveryMs = await until(() => {
      const s = t.engine.dsp.stats().shards[shard];
      return s.workerRestarts === 1 && s.framesProcessed > before;
    });
    const results = await Promise.all(calls);
    const disturbed = results.filter((r) => {
      const turns = t.engine.recent.get(r.callSid)!.turns.filter((x) => x.index > 0);
      return r.closeCode !== 1000 || turns.map((x) => x.user).join('|') !== transcripts.join('|') || turns.some((x) => x.source === 'fallback');
    }).length;
    const row: Row = {
      fault: 'DSP worker killed mid-call (Media Streams)',
      calls: CALLS,
      touched: `${onShard} (its shard)`,
      disturbed,
      turnsDuring: CALLS * 3,
      turnsLost: results.reduce((a, r) => a + (3 - t.engine.recent.get(r.callSid)!.turns.filter((x) => x.index > 0 && x.source !== 'fallback').length), 0),
      framesLost: t.engine.dsp.stats().framesLost,
      recoveryMs,
      recovery: 'fault → its shard processes frames again (new thread)',
      log: logSummary(t.logs, from, /restart/i),
      notes: 'DSP_THREADS=2; the batch in flight is dropped, the shard\'s calls restart with fresh DSP state',
    };
    await t.stop();
    return row;
  },

  async embed() {
    const t = await inProcess({ PERFORMANCE_CACHE_ENABLED: true, CACHE_EMBEDDING_BACKEND: 'hashing', CACHE_EMBED_THREADS: 1, CACHE_LEARN_ENABLED: false });
    await until(() => t.engine.cache!.stats().entries > 0);
    const paraphrases = ['What time do you open during the week?', 'When do you open on weekdays?', 'What are your opening hours during the week?'];
    const load = new RelayLoad(t.url, paraphrases, (sid) => t.engine.registry.recentRelay.get(sid)?.turns.at(-1)?.source);
    await load.start(CALLS);
    await sleep(2000);
    const from = t.logs.length;
    const errors = t.engine.cache!.stats().errors;
    const t0 = now();
    t.engine.cache!.injectEmbedWorkerFault();
    await until(() => t.engine.cache!.stats().errors > errors);
    const hitsAt = t.engine.cache!.stats().semanticHits;
    const recoveryMs = await until(() => t.engine.cache!.stats().semanticHits > hitsAt);
    await sleep(2000);
    const log = logSummary(t.logs, from);
    await load.stop();
    const s = load.summary(t0, t0 + (recoveryMs ?? 0));
    const missed = t.engine.cache!.stats().errors - errors;
    await t.stop();
    return { fault: 'Embedding worker killed (CACHE_EMBED_THREADS=1)', calls: CALLS, touched: `turns in its batch (${missed})`, ...s, recoveryMs, recovery: 'fault → next semantic hit', log, notes: `${missed} lookup(s) failed → miss → LLM answered` };
  },

  ...Object.fromEntries(
    (
      [
        ['provider-refuse', 'LLM primary refuses (503) for 4 s', { kind: 'status', status: 503, message: 'overloaded' }],
        ['provider-hang', 'LLM primary hangs (no headers) for 4 s', { kind: 'hang' }],
        ['provider-midstream', 'LLM primary dies mid-stream for 4 s', { kind: 'disconnect', afterChunks: 4 }],
      ] as Array<[string, string, Fault]>
    ).map(([key, title, fault]) => [
      key,
      async (): Promise<Row> => {
        const reply = 'We have free parking behind the building, and the entrance is on the ground floor.';
        const primary = await startFakeOpenAi({ reply, chunkDelayMs: 5 });
        const secondary = await startFakeOpenAi({ reply, continuation: 'rest', chunkDelayMs: 5 });
        const spec = (f: typeof primary, name: string) => ({ provider: 'openai', name, apiKey: 'k', baseURL: f.baseURL, model: 'm' });
        const t = await inProcess({ WEAVER_LLM_CHAIN: JSON.stringify([spec(primary, 'primary'), spec(secondary, 'secondary')]) });
        const load = new RelayLoad(t.url, [QUESTION], (sid) => t.engine.registry.recentRelay.get(sid)?.turns.at(-1)?.source);
        await load.start(CALLS);
        await sleep(2000);
        const from = t.logs.length;
        const t0 = now();
        primary.setFaults([], fault);
        await sleep(4000);
        primary.setFaults([], { kind: 'ok' });
        const t1 = now();
        const served = primary.requests.filter((r) => r.finished && r.fault.kind === 'ok').length;
        const recoveryMs = await until(() => primary.requests.filter((r) => r.finished && r.fault.kind === 'ok').length > served);
        await sleep(1000);
        const log = logSummary(t.logs, from);
        await load.stop();
        const s = load.summary(t0, t1);
        const rescued = secondary.requests.length;
        await t.stop();
        await Promise.all([primary.close(), secondary.close()]);
        return { fault: title, calls: CALLS, touched: `turns during it (${s.turnsDuring})`, ...s, recoveryMs, recovery: 'fault cleared → primary answers again (breaker cooldown)', log, notes: `${rescued} requests finished by the secondary` };
      },
    ]),
  ),

  async redis() {
    const found = await findRedis();
    if (!found.redis) throw new Error(found.reason);
    const u = new URL(found.redis.url);
    const proxy = new RedisProxy({ host: u.hostname, port: Number(u.port || 6379) });
    await proxy.start();
    const t = await inProcess({ REDIS_URL: proxy.url, REDIS_KEY_PREFIX: found.redis.prefix, REDIS_COMMAND_TIMEOUT_MS: 200, PERFORMANCE_CACHE_ENABLED: true, CACHE_EMBEDDING_BACKEND: 'hashing' });
    const load = new RelayLoad(t.url);
    await load.start(CALLS);
    await sleep(2000);
    const from = t.logs.length;
    const t0 = now();
    await proxy.stop();
    await until(() => t.engine.shared!.degraded);
    await sleep(4000);
    const t1 = now();
    await proxy.start();
    const recoveryMs = await until(() => !t.engine.shared!.degraded);
    await sleep(1000);
    const log = logSummary(t.logs, from);
    await load.stop();
    const s = load.summary(t0, t1);
    await t.stop();
    await proxy.stop();
    await found.redis.cleanup();
    return { fault: 'Redis lost for 4 s, then back', calls: CALLS, touched: 0, ...s, recoveryMs, recovery: 'Redis back → engine reconnected (not degraded)', log, notes: 'Redis is off the audio path: turns go on with local state' };
  },

  async history() {
    const missing = await postgresMissing();
    if (missing) throw new Error(missing);
    const schema = await pgSchema('weaver_faults_bench');
    const target = new URL(PG_BASE_URL);
    const relay = await startTcpRelay({ host: target.hostname, port: Number(target.port || 5432) });
    const url = new URL(schema.url);
    url.host = `127.0.0.1:${relay.port}`;
    const t = await inProcess({ DATABASE_URL: url.toString() });
    const load = new RelayLoad(t.url);
    await load.start(CALLS);
    await sleep(2000);
    const from = t.logs.length;
    const dropped0 = Object.values(t.engine.history.dropped).reduce((a, b) => a + b, 0);
    const t0 = now();
    relay.cut();
    await sleep(4000);
    const t1 = now();
    relay.restore();
    const written = t.engine.history.written;
    const recoveryMs = await until(() => t.engine.history.status === 'ok' && t.engine.history.written > written, 60_000);
    await sleep(1000);
    const log = logSummary(t.logs, from, /writable again|history/i);
    await load.stop();
    const s = load.summary(t0, t1);
    const dropped = Object.values(t.engine.history.dropped).reduce((a, b) => a + b, 0) - dropped0;
    const lost = t.engine.history.status === 'lost' ? `; the store was LOST and did not come back: ${t.engine.history.error}` : '';
    await t.stop();
    await relay.close();
    await schema.drop();
    return { fault: 'History database (PostgreSQL) lost for 4 s, then back', calls: CALLS, touched: 0, ...s, recoveryMs, recovery: 'database back → records written again', log, notes: `${dropped} history records dropped (counted), none of the calls' turns${lost}` };
  },

  async 'corrupt-cache'() {
    const dir = mkdtempSync(join(tmpdir(), 'faults-corrupt-'));
    writeFileSync(join(dir, 'cache.snapshot'), 'this is not a snapshot at all, just text');
    const t0 = now();
    const t = await inProcess({ PERFORMANCE_CACHE_ENABLED: true, CACHE_EMBEDDING_BACKEND: 'hashing', CACHE_DIR: dir });
    const startMs = Math.round(now() - t0);
    const load = new RelayLoad(t.url);
    await load.start(CALLS);
    await sleep(3000);
    const log = logSummary(t.logs, 0, /corrupt|aside/i);
    await load.stop();
    const s = load.summary(0, now());
    const aside = readdirSync(dir).filter((f) => f !== 'cache.snapshot');
    await t.stop();
    return { fault: 'Corrupt cache file at startup', calls: CALLS, touched: 0, ...s, recoveryMs: startMs, recovery: 'engine start to serving (cache empty, re-warmed)', log, notes: `kept aside as ${aside.join(', ') || '(nothing)'}` };
  },

  async sigterm() {
    const GRACE = 5000;
    const e = await startEngineProcess({ SHUTDOWN_GRACE_MS: String(GRACE), DSP_THREADS: '1', PERFORMANCE_CACHE_ENABLED: 'false', HISTORY_PATH: join(tmpdir(), `faults-sigterm-${process.pid}.sqlite`) });
    const load = new RelayLoad(`http://127.0.0.1:${e.port}`);
    await load.start(CALLS);
    await sleep(2000);
    const from = e.logs.length;
    const t0 = now();
    const closedAt = new Map<RelayCaller, number>();
    const watch = setInterval(() => {
      for (const { c } of load.callers) if (c.closeCode !== undefined && !closedAt.has(c)) closedAt.set(c, now());
    }, 5);
    e.proc.kill('SIGTERM');
    const code = await e.exited;
    const exitMs = Math.round(now() - t0);
    await sleep(50);
    clearInterval(watch);
    await load.stop();
    const s = load.summary(t0, t0 + GRACE);
    const codes = load.callers.map((x) => x.c.closeCode);
    const cutEarly = [...closedAt.values()].filter((at) => at - t0 < GRACE - 100).length;
    const answered = load.callers.flatMap((x) => x.turns.filter((t) => t.ok && t.sent >= t0)).length;
    return {
      fault: `SIGTERM with calls in flight (grace ${GRACE / 1000} s)`,
      calls: CALLS,
      touched: 'all, at the end of the grace period',
      disturbed: cutEarly,
      turnsDuring: s.turnsDuring,
      turnsLost: s.turnsLost,
      latencyMs: s.latencyMs,
      recoveryMs: exitMs,
      recovery: `SIGTERM → exit ${code}`,
      log: logSummary(e.logs, from, /shutting down|signal/i),
      notes: `${answered} turns answered during the grace period; close codes ${[...new Set(codes)].join(', ')} (${codes.filter((c) => c === 1001).length}× 1001); ${cutEarly} closed before the grace period ended; a turn in flight at the deadline counts as lost`,
    };
  },

  async 'slow-reader'() {
    const CAP = 64 * 1024;
    const e = await startEngineProcess({ MAX_SOCKET_BUFFER_BYTES: String(CAP), DSP_THREADS: '1', PERFORMANCE_CACHE_ENABLED: 'false', HISTORY_PATH: join(tmpdir(), `faults-slow-${process.pid}.sqlite`) });
    const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${e.proc.pid}/status`, 'utf8'))?.[1]);
    const load = new RelayLoad(`http://127.0.0.1:${e.port}`);
    await load.start(CALLS);
    const ws = new WebSocket(`ws://127.0.0.1:${e.port}/twilio/media`);
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    const sid = 'MZslowreader';
    ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: sid, start: { streamSid: sid, accountSid: 'AC1', callSid: 'CAslowreader', tracks: ['inbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } }));
    await new Promise((r) => ws.once('message', r));
    await sleep(1000);
    const from = e.logs.length;
    const rss0 = rssKb();
    const t0 = now();
    (ws as unknown as { _socket: Socket })._socket.pause(); // the caller stops reading while the agent speaks
    let presses = 0;
    const closedAt = await until(() => {
      if (e.logs.slice(from).some((l) => l.includes('call socket not reading'))) return true;
      ws.send(JSON.stringify({ event: 'dtmf', streamSid: sid, dtmf: { digit: String(presses++ % 9) } }));
      return false;
    }, 60_000, 100);
    const rss1 = rssKb();
    const t1 = now();
    const report = JSON.parse(e.logs.slice(from).find((l) => l.includes('call socket not reading')) ?? '{}');
    await sleep(1000);
    const log = logSummary(e.logs, from);
    ws.terminate();
    await load.stop();
    const s = load.summary(t0, t1);
    e.proc.kill('SIGKILL');
    return {
      fault: `Caller stops reading while the agent speaks (MAX_SOCKET_BUFFER_BYTES=${CAP})`,
      calls: CALLS + 1,
      touched: 1,
      ...s,
      recoveryMs: closedAt,
      recovery: 'reading stopped → socket closed (engine side)',
      log,
      notes: `${presses} key presses (each a spoken answer) before the close; engine held ${report.buffered ?? '?'} bytes for it at the close; engine RSS ${Math.round(rss0 / 1024)} → ${Math.round(rss1 / 1024)} MB; the ${CALLS} relay calls beside it`,
    };
  },

  async fds() {
    const e = await startEngineProcess({ ADMISSION_FD_RESERVE: '16', DSP_THREADS: '1', PERFORMANCE_CACHE_ENABLED: 'false', HISTORY_PATH: join(tmpdir(), `faults-fd-${process.pid}.sqlite`) });
    const url = `http://127.0.0.1:${e.port}`;
    const load = new RelayLoad(url);
    await load.start(CALLS);
    await sleep(2000);
    const from = e.logs.length;
    const pid = String(e.proc.pid);
    const open = readdirSync(`/proc/${pid}/fd`).length;
    const t0 = now();
    execFileSync('prlimit', ['--pid', pid, `--nofile=${open + 16 + 3}:`]);
    await sleep(250); // the engine's descriptor sample is at most 100 ms old
    let refused = 0;
    let admitted = 0;
    const extra: RelayCaller[] = [];
    for (let i = 0; i < 10; i++) {
      const c = new RelayCaller({ baseUrl: url, workflow: 'demo-relay' });
      try {
        await c.connect();
        extra.push(c);
        admitted++;
      } catch {
        refused++;
      }
    }
    await sleep(2000);
    const t1 = now();
    execFileSync('prlimit', ['--pid', pid, '--nofile=20000:']);
    const recoveryMs = await until(async () => {
      const c = new RelayCaller({ baseUrl: url, workflow: 'demo-relay' });
      try {
        await c.connect();
        extra.push(c);
        return true;
      } catch {
        return false;
      }
    }, 10_000, 20);
    await sleep(500);
    const log = logSummary(e.logs, from);
    await load.stop();
    for (const c of extra) await c.hangup();
    const s = load.summary(t0, t1);
    e.proc.kill('SIGKILL');
    return { fault: 'Out of file descriptors (soft RLIMIT_NOFILE lowered to open + reserve + 3)', calls: CALLS, touched: 'new calls only', ...s, recoveryMs, recovery: 'limit raised → a new call admitted', log, notes: `${admitted} of 10 new calls admitted, ${refused} rejected as busy at the voice webhook` };
  },

  async memory() {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const MB = 1024 * 1024;
    const limitMb = Math.ceil((process.memoryUsage.rss() + 400 * MB) / MB / 0.9);
    const t = await inProcess({ MEMORY_LIMIT_MB: limitMb });
    const load = new RelayLoad(t.url);
    await load.start(CALLS);
    await sleep(2000);
    const from = t.logs.length;
    const t0 = now();
    let ballast: Buffer | undefined = Buffer.allocUnsafe(700 * MB).fill(1);
    let refused = 0;
    for (let i = 0; i < 10; i++) {
      const c = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
      await c.connect().then(
        () => c.hangup(),
        () => refused++,
      );
    }
    await sleep(2000);
    const t1 = now();
    if (ballast[0] !== 1) throw new Error('ballast');
    ballast = undefined;
    gc();
    const recoveryMs = await until(() => t.engine.admission.check() === undefined, 10_000, 20);
    await sleep(500);
    const log = logSummary(t.logs, from);
    await load.stop();
    const s = load.summary(t0, t1);
    await t.stop();
    return { fault: `Near the memory limit (700 MB ballast past MEMORY_LIMIT_MB=${limitMb})`, calls: CALLS, touched: 'new calls only', ...s, recoveryMs, recovery: 'memory freed → admitting again', log, notes: `${refused} of 10 new calls rejected as busy at the voice webhook` };
  },
};

// ------------------------------------------------------------------ run and report

const rows: Row[] = [];
const started = new Date().toISOString();
const load0 = loadavg();
for (const [name, run] of Object.entries(scenarios)) {
  if (ONLY && !ONLY.includes(name)) continue;
  process.stderr.write(`[faults] ${name}…\n`);
  try {
    rows.push(await run());
    process.stderr.write(`[faults] ${name}: ${JSON.stringify(rows.at(-1))}\n`);
  } catch (e) {
    process.stderr.write(`[faults] ${name} could not run: ${(e as Error).message}\n`);
    rows.push({ fault: name, calls: 0, touched: '-', disturbed: 0, turnsDuring: 0, turnsLost: 0, recoveryMs: null, recovery: '-', log: [], notes: `not run: ${(e as Error).message}` });
  }
}
const machine = `${cpus().length} vCPU ${cpus()[0]?.model.trim()}, Node ${process.version}`;
const load = { start: load0.map((x) => x.toFixed(2)), end: loadavg().map((x) => x.toFixed(2)) };
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/${OUT}.json`, import.meta.url), JSON.stringify({ command: `npx tsx bench/faults.ts ${argv.join(' ')}`.trim(), machine, started, loadavg: load, calls: CALLS, rows }, null, 2) + '\n');
const ms = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${v}`);
const md = [
  `# Faults and what they cost (\`npx tsx bench/faults.ts ${argv.join(' ')}\`)`.replace(' `)', '`)'),
  '',
  `${machine}; ${started}; load average ${load.start.join(' ')} at start, ${load.end.join(' ')} at end.`,
  '',
  '| fault | calls in flight | should touch | disturbed | turns during / lost | frames lost | turn ms before → during p50 / max | recovery | the log says | notes |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.fault} | ${r.calls} | ${r.touched} | ${r.disturbed} | ${r.turnsDuring} / ${r.turnsLost} | ${r.framesLost ?? '–'} | ${r.latencyMs ? `${ms(r.latencyMs.before)} → ${ms(r.latencyMs.duringP50)} / ${ms(r.latencyMs.duringMax)}` : '–'} | ${ms(r.recoveryMs)} ms (${r.recovery}) | ${r.log.map((l) => `"${l.replaceAll('|', '/')}"`).join('; ') || '–'} | ${r.notes} |`),
  '',
];
writeFileSync(new URL(`./results/${OUT}.md`, import.meta.url), md.join('\n'));
process.stdout.write(md.join('\n'));
process.exit(0);
