// The call history (issue 17): every call, turn and event kept in a store — SQLite embedded by
// default, PostgreSQL with DATABASE_URL — that lives in its own thread (worker.ts) behind a
// bounded write queue (queue.ts). The composition root opens one History and attaches every call
// to it; a call's only cost is a few array pushes when it starts, finishes a turn and ends.
// Faults: a store that cannot open leaves history off (one clear log line, /health degraded) and
// the engine serving calls; a store lost mid-run drops records (counted), never a call.
import { hostname } from 'node:os';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { AlertEvent } from '../metrics/alerts.ts';
import type { CallRegistry } from '../calls/registry.ts';
import { StoreClient } from './client.ts';
import { WriteQueue, type DropReason } from './queue.ts';
import { QualityMonitor, turnOk, type QualityAlert } from './quality.ts';
import type { TurnRecord } from '../call/turn-record.ts';
import { callEndRow, callStartRow, eventOp, leg, registryOps, turnRow, type RecordableCall } from './recorder.ts';
import type { HistoryOp } from './schema.ts';

export type { RecordableCall };

/** off: HISTORY_ENABLED=false · ok · failing: the last batch could not be written · lost: the store thread died · unavailable: the store did not open. */
export type HistoryStatus = 'off' | 'ok' | 'failing' | 'lost' | 'unavailable';

export interface HistoryDeps {
  log: Logger;
  metrics: Metrics;
  registry: CallRegistry;
}

export class HistoryUnavailableError extends Error {}

/** Where the store is, without credentials. */
export function describeStore(config: Pick<Config, 'DATABASE_URL' | 'HISTORY_PATH'>): string {
  if (!config.DATABASE_URL) return `sqlite ${config.HISTORY_PATH}`;
  try {
    const u = new URL(config.DATABASE_URL);
    return `postgresql ${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'postgresql';
  }
}

export class History {
  status: HistoryStatus;
  /** Why the store is not working, when it is not. */
  error?: string;
  readonly instance: string;
  readonly quality: QualityMonitor;
  written = 0;
  readonly dropped: Record<DropReason, number> = { queue_full: 0, write_failed: 0, store_lost: 0 };
  private readonly queue?: WriteQueue<HistoryOp>;
  private readonly languages = new WeakMap<RecordableCall, Set<string>>();
  /** Whether each turn was cut when it was recorded: a barge-in may cut its answer later. */
  private readonly recordedCut = new WeakMap<TurnRecord, boolean>();
  private readonly log: Logger;
  private faultLogged = false;

  constructor(
    private readonly config: Config,
    private readonly deps: HistoryDeps,
    private readonly client: StoreClient | undefined,
    status: HistoryStatus,
    error?: string,
  ) {
    this.status = status;
    this.error = error;
    this.log = deps.log.child({ component: 'history' });
    this.instance = config.INSTANCE_ID ?? hostname();
    this.quality = new QualityMonitor({ thresholdPct: config.QUALITY_ALERT_THRESHOLD, windowS: config.QUALITY_WINDOW_S });
    if (!client) return;
    const { metrics } = deps;
    this.queue = new WriteQueue<HistoryOp>({
      max: config.HISTORY_QUEUE_MAX,
      batch: config.HISTORY_BATCH_SIZE,
      flushMs: config.HISTORY_FLUSH_MS,
      alive: () => client.lost === undefined,
      write: async (batch) => {
        await client.write(batch);
        if (this.status === 'failing') this.log.info('call history store writable again');
        this.status = 'ok';
        this.error = undefined;
      },
      onWritten: (n) => {
        this.written += n;
        metrics.historyWritten.inc(n);
      },
      onDrop: (n, reason, err) => {
        this.dropped[reason] += n;
        metrics.historyDropped.inc({ reason }, n);
        if (reason === 'write_failed') {
          this.status = 'failing';
          this.error = err instanceof Error ? err.message : String(err);
          this.log.error({ err, records: n }, 'call history: a batch could not be written and was dropped (calls are unaffected)');
        } else if (!this.faultLogged) {
          this.faultLogged = true;
          this.log.warn({ reason, records: n }, 'call history: records dropped (counted in weaver_history_dropped_total); calls are unaffected');
        }
      },
    });
    const depth = setInterval(() => metrics.historyQueueDepth.set(this.queue?.depth ?? 0), 1000);
    depth.unref();
    this.stopDepth = () => clearInterval(depth);
    deps.registry.events$.subscribe((ev) => this.safe('registry event', () => registryOps(ev, this.instance).forEach((op) => this.push(op))));
  }

  private stopDepth = () => {};

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** Configured on, but not keeping calls: /health says degraded. */
  get degraded(): boolean {
    return this.status === 'unavailable' || this.status === 'lost' || this.status === 'failing';
  }

  /** Records a call's start, its turns and its end. Never throws into the call. */
  attach(call: RecordableCall): void {
    const target = this.config.PERFORMANCE_TARGET_LATENCY;
    const { registry, metrics } = this.deps;
    call.started$.subscribe(() =>
      this.safe('call start', () => {
        this.languages.set(call, new Set(call.language ? [call.language] : []));
        this.push({ op: 'call', row: callStartRow(call, registry.get(call.callSid), this.instance) });
        this.push(eventOp(call.callSid, 'call', 'started', { mode: call.mode, workflow: call.workflowId, leg: leg(call) || undefined, language: call.language }));
      }),
    );
    call.turnDone$.subscribe((t) =>
      this.safe('turn', () => {
        if (call.language) this.languages.get(call)?.add(call.language);
        this.recordedCut.set(t, t.interrupted);
        this.push({ op: 'turn', row: turnRow(call, t, target) });
      }),
    );
    call.ended$.subscribe((outcome) =>
      this.safe('call end', () => {
        if (!call.callSid) return; // ended before it started: nothing to keep
        // Turns are final now: one the caller cut after it was recorded is written again, and every
        // caller turn counts in the engine-wide quality.
        for (const t of call.turns) {
          if (this.recordedCut.has(t) && this.recordedCut.get(t) !== t.interrupted) this.push({ op: 'turn', row: turnRow(call, t, target) });
          const ok = turnOk(t, target);
          if (ok === undefined) continue;
          const alert = this.quality.observe(ok);
          if (alert) this.qualityAlert(alert);
        }
        const { score } = this.quality.score();
        if (score !== null) metrics.qualityScore.set(score);
        const row = callEndRow(call, outcome, this.languages.get(call) ?? [], target, registry.get(call.callSid));
        this.push({ op: 'call', row });
        this.push(eventOp(call.callSid, 'call', 'ended', { outcome, leg: leg(call) || undefined, speculation: call.core?.speculation }));
        if (row.protocol_errors) this.push(eventOp(call.callSid, 'protocol_errors', `${row.protocol_errors} rejected message(s)`, call.errors));
        if (row.quality !== null && row.quality < this.config.QUALITY_ALERT_THRESHOLD) {
          metrics.callsLowQuality.inc();
          this.push(eventOp(call.callSid, 'quality', 'below threshold', { score: row.quality, thresholdPct: this.config.QUALITY_ALERT_THRESHOLD, targetMs: target }));
        }
      }),
    );
  }

  /** A performance alert raised or cleared (metrics/live.ts). */
  alert(ev: AlertEvent): void {
    this.safe('alert', () => this.push(eventOp(null, 'alert', `${ev.kind} ${ev.type}`, ev, ev.at)));
  }

  private qualityAlert(a: QualityAlert): void {
    const msg = a.type === 'raised' ? 'quality alert raised: too few turns answered within the target' : 'quality alert cleared';
    (a.type === 'raised' ? this.log.warn : this.log.info).call(this.log, { alert: a.kind, scorePct: a.scorePct, thresholdPct: a.thresholdPct, turns: a.turns, windowS: a.windowS }, msg);
    this.push(eventOp(null, 'alert', `${a.kind} ${a.type}`, a, a.at));
  }

  private push(op: HistoryOp): void {
    this.queue?.push(op);
  }

  /** Runs a recorder step; an exception is logged and counted, and goes no further. */
  private safe(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.metrics.errors.inc({ kind: 'history' });
      this.log.error({ err, where }, 'call history: recording failed (the call is unaffected)');
    }
  }

  /** The store for reads, or a HistoryUnavailableError saying why there is none. */
  reader(): StoreClient {
    if (!this.client) throw new HistoryUnavailableError(this.status === 'off' ? 'call history is off (HISTORY_ENABLED=false)' : `call history is unavailable: ${this.error ?? 'the store did not open'}`);
    if (this.client.lost) throw new HistoryUnavailableError(`call history store lost: ${this.client.lost}`);
    return this.client;
  }

  /** The history part of GET /health. */
  health(): object {
    const q = this.quality.score();
    return {
      status: this.status,
      store: this.status === 'off' ? undefined : describeStore(this.config),
      schema: this.client?.info.schema,
      error: this.error,
      queue: this.queue ? { depth: this.queue.depth, max: this.config.HISTORY_QUEUE_MAX } : undefined,
      written: this.written,
      dropped: this.dropped,
      quality: { scorePct: q.score, turns: q.turns, windowS: this.config.QUALITY_WINDOW_S, thresholdPct: this.config.QUALITY_ALERT_THRESHOLD, alert: this.quality.active },
    };
  }

  /** Writes what is queued (a few seconds at most), then closes the store. */
  async close(): Promise<void> {
    this.stopDepth();
    await this.queue?.drain(5000);
    await this.client?.close();
  }

  /** Tests: the store thread dies as if it crashed. */
  async killStoreForTest(): Promise<void> {
    await this.client?.kill();
  }
}

/** Opens the configured store; never throws: a store that cannot open gives a History that is off and says why. */
export async function openHistory(config: Config, deps: HistoryDeps): Promise<History> {
  const log = deps.log.child({ component: 'history' });
  if (!config.HISTORY_ENABLED) {
    log.info('call history off (HISTORY_ENABLED=false)');
    return new History(config, deps, undefined, 'off');
  }
  const where = describeStore(config);
  let history: History | undefined;
  try {
    const client = await StoreClient.start({
      store: { path: config.HISTORY_PATH, databaseUrl: config.DATABASE_URL, redact: config.HISTORY_REDACT, maskNumbers: config.HISTORY_MASK_NUMBERS },
      retentionDays: config.HISTORY_RETENTION_DAYS,
      onPurge: (r) => {
        if ('error' in r) log.warn({ error: r.error }, 'call history: retention purge failed');
        else if (r.calls + r.turns + r.events > 0) log.info({ ...r, retentionDays: config.HISTORY_RETENTION_DAYS }, 'call history: old records deleted');
      },
      onLost: (reason) => {
        if (!history) return;
        history.status = 'lost';
        history.error = reason;
        log.error({ reason }, 'call history store lost: records are dropped and counted from now on; calls are unaffected');
      },
    });
    history = new History(config, deps, client, 'ok');
    log.info({ store: where, schema: client.info.schema, migrated: client.info.migrated, redact: config.HISTORY_REDACT, retentionDays: config.HISTORY_RETENTION_DAYS }, 'call history on');
    return history;
  } catch (e) {
    const reason = (e as Error).message;
    log.error({ store: where, reason }, `call history OFF: cannot open the store (${where}): ${reason}. The engine serves calls without recording them; /health reports degraded`);
    return new History(config, deps, undefined, 'unavailable', reason);
  }
}
