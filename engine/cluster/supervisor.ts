// `WEAVER_PROCESSES=N npm start`: this process becomes a supervisor of N engine processes
// (node:cluster workers running engine/main.ts) that share the listening port through
// SO_REUSEPORT (WEAVER_SHARE_PORT), each with its own DSP shards (DSP_THREADS split between them
// unless set). A process that dies is restarted (its calls end; the others never notice), with
// a growing delay if it keeps dying at startup. SIGTERM/SIGINT drains every process (each stops
// listening and gives its calls SHUTDOWN_GRACE_MS), then the supervisor exits 0.
// It also answers the processes' requests for the aggregated metrics and relays each one's
// health to all (member.ts), so /metrics and /health on any of them cover every process.
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import client from 'prom-client';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ClusterMessage, ProcessReport } from './member.ts';

/** A process that dies sooner than this after its start counts as a crash loop (restart delay grows). */
const QUICK_DEATH_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** Extra time past SHUTDOWN_GRACE_MS before a process that has not exited is killed. */
const KILL_AFTER_GRACE_MS = 10_000;

interface Slot {
  index: number;
  worker?: Worker;
  startedAt: number;
  restarts: number;
  quickDeaths: number;
  ready: boolean;
  report?: Omit<ProcessReport, 'restarts'>;
}

/** This process should supervise (several processes asked for, and it is not one of them). */
export const shouldSupervise = (config: Config): boolean => config.WEAVER_PROCESSES > 1 && cluster.isPrimary;

/** The port the processes share: PORT, or a free one when PORT=0 (each process must get the same). */
async function sharedPort(config: Config): Promise<number> {
  if (config.PORT !== 0) return config.PORT;
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, config.HOST, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface SuperviseOptions {
  /** The module each process runs (default: this process's own entry point, engine/main.ts under npm start). */
  exec?: string;
  /** Every process is listening (the load bench learns the port and the process ids). */
  onReady?: (port: number, pids: number[]) => void;
}

export async function supervise(config: Config, log: Logger, opts: SuperviseOptions = {}): Promise<void> {
  const n = config.WEAVER_PROCESSES;
  const port = await sharedPort(config);
  const dspThreads = process.env.DSP_THREADS ? undefined : Math.max(1, Math.floor(availableParallelism() / n));
  cluster.setupPrimary({ exec: opts.exec ?? process.argv[1], args: process.argv.slice(2), execArgv: process.execArgv });
  const aggregator = new client.AggregatorRegistry();
  const slots: Slot[] = Array.from({ length: n }, (_, index) => ({ index, startedAt: 0, restarts: 0, quickDeaths: 0, ready: false }));
  let stopping = false;
  let announced = false;

  const view = (): ProcessReport[] => slots.map((s) => ({ ...(s.report ?? { index: s.index, pid: s.worker?.process.pid ?? 0, status: 'starting', calls: 0, uptimeS: 0, at: 0 }), restarts: s.restarts }));
  const broadcast = () => {
    const m: ClusterMessage = { type: 'weaver:cluster', processes: view() };
    for (const s of slots) if (s.worker?.isConnected()) s.worker.send(m);
  };
  const timer = setInterval(broadcast, 1000);
  timer.unref();

  const fork = (slot: Slot) => {
    slot.startedAt = Date.now();
    slot.report = undefined;
    slot.ready = false;
    const w = cluster.fork({ WEAVER_WORKER_INDEX: String(slot.index), PORT: String(port), WEAVER_SHARE_PORT: 'true', ...(dspThreads ? { DSP_THREADS: String(dspThreads) } : {}) });
    slot.worker = w;
    w.on('message', (m: ClusterMessage) => {
      if (m?.type === 'weaver:report') slot.report = m.report;
      else if (m?.type === 'weaver:ready') {
        slot.ready = true;
        log.info({ index: slot.index, pid: w.process.pid, port }, 'engine process ready');
        if (!announced && slots.every((s) => s.ready)) {
          announced = true;
          log.info({ url: `http://localhost:${port}`, processes: n, dspThreadsEach: dspThreads ?? Number(process.env.DSP_THREADS) }, 'all engine processes ready');
          opts.onReady?.(port, [process.pid, ...slots.map((s) => s.worker?.process.pid ?? 0)]);
        }
      } else if (m?.type === 'weaver:metrics-req') {
        aggregator.clusterMetrics().then(
          (text) => w.isConnected() && w.send({ type: 'weaver:metrics-res', id: m.id, text } satisfies ClusterMessage),
          (e: Error) => w.isConnected() && w.send({ type: 'weaver:metrics-res', id: m.id, error: e.message } satisfies ClusterMessage),
        );
      }
    });
    w.on('exit', (code, signal) => {
      if (slot.worker !== w) return;
      slot.worker = undefined;
      if (stopping) return;
      const quick = Date.now() - slot.startedAt < QUICK_DEATH_MS;
      slot.quickDeaths = quick ? slot.quickDeaths + 1 : 0;
      const delay = slot.quickDeaths === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (slot.quickDeaths - 1));
      slot.restarts++;
      log.error({ index: slot.index, pid: w.process.pid, code, signal, restartInMs: delay, restarts: slot.restarts }, 'engine process died: its calls ended; restarting it');
      setTimeout(() => !stopping && fork(slot), delay);
    });
  };

  for (const slot of slots) fork(slot);
  log.info({ processes: n, port }, 'supervisor started');

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'supervisor: draining every engine process');
    const alive = slots.map((s) => s.worker).filter((w): w is Worker => w !== undefined && w.process.exitCode === null);
    for (const w of alive) w.process.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const w of alive) if (w.process.exitCode === null && w.process.signalCode === null) w.process.kill('SIGKILL');
    }, config.SHUTDOWN_GRACE_MS + KILL_AFTER_GRACE_MS);
    Promise.all(alive.map((w) => new Promise((r) => (w.process.exitCode !== null || w.process.signalCode !== null ? r(null) : w.once('exit', r))))).then(() => {
      clearTimeout(killer);
      clearInterval(timer);
      log.info('supervisor: every engine process has exited');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
