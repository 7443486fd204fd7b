// The main thread's side of the store thread (worker.ts): starts it, waits until the store is open
// and migrated, and turns each request into one message. If the thread dies, every request in
// flight and after fails at once and `lost` says why; nothing here ever throws into a call.
import { Worker } from 'node:worker_threads';
import type { StoreOptions, CallFilter, CallPage, CallDetail, TrendFilter, Trends } from './store.ts';
import type { EventRow, HistoryOp, TurnRow } from './schema.ts';
import type { StoreMethod, WorkerData, WorkerMessage } from './worker.ts';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER = new URL(FROM_SOURCE ? './worker-entry.mjs' : './worker.js', import.meta.url);

export interface StoreInfo {
  dialect: string;
  migrated: string[];
  schema?: string;
}

export interface StoreClientOptions {
  store: StoreOptions;
  retentionDays: number;
  /** Longest wait for the store to open. */
  openTimeoutMs?: number;
  /** Longest wait for one request. */
  requestTimeoutMs?: number;
  onPurge?(r: { calls: number; turns: number; events: number; before: number } | { error: string }): void;
  onLost?(reason: string): void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class StoreClient {
  /** Why the store thread is gone, once it is. */
  lost?: string;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly worker: Worker,
    readonly info: StoreInfo,
    private readonly o: StoreClientOptions,
  ) {
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    worker.on('error', (e) => this.fail(`store thread failed: ${e.message}`));
    worker.on('exit', (code) => this.fail(`store thread exited (${code})`));
  }

  /** Starts the thread; resolves once the store is open, rejects with the reason it is not. */
  static start(o: StoreClientOptions): Promise<StoreClient> {
    const workerData: WorkerData = { store: o.store, retentionDays: o.retentionDays };
    const worker = new Worker(WORKER, { workerData, execArgv: [] });
    worker.unref(); // the engine's exit does not wait on the store (close() drains it first)
    return new Promise((resolve, reject) => {
      const done = (err?: Error, info?: StoreInfo) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (err) {
          void worker.terminate();
          reject(err);
        } else resolve(new StoreClient(worker, info!, o));
      };
      const onMessage = (m: WorkerMessage) => {
        if ('type' in m && m.type === 'ready') done(undefined, { dialect: m.dialect, migrated: m.migrated, schema: m.schema });
        else if ('type' in m && m.type === 'failed') done(new Error(m.error));
      };
      const onError = (e: Error) => done(e);
      const onExit = (code: number) => done(new Error(`store thread exited (${code}) before the store opened`));
      const timer = setTimeout(() => done(new Error(`the store did not open within ${o.openTimeoutMs ?? 30_000} ms`)), o.openTimeoutMs ?? 30_000);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  private onMessage(m: WorkerMessage): void {
    if ('type' in m) {
      if (m.type === 'purged') this.o.onPurge?.({ calls: m.calls, turns: m.turns, events: m.events, before: m.before });
      else if (m.type === 'purge-failed') this.o.onPurge?.({ error: m.error });
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  }

  private fail(reason: string): void {
    if (this.lost) return;
    this.lost = reason;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(reason));
    }
    this.pending.clear();
    this.o.onLost?.(reason);
  }

  private request<R>(method: StoreMethod, ...args: unknown[]): Promise<R> {
    if (this.lost) return Promise.reject(new Error(this.lost));
    const id = this.nextId++;
    const ms = this.o.requestTimeoutMs ?? 30_000;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`store request ${method} timed out after ${ms} ms`));
      }, ms);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.worker.postMessage({ id, method, args });
    });
  }

  write(ops: HistoryOp[]): Promise<number> {
    return this.request('write', ops);
  }
  listCalls(f: CallFilter): Promise<CallPage> {
    return this.request('listCalls', f);
  }
  getCall(sid: string): Promise<CallDetail | undefined> {
    return this.request('getCall', sid);
  }
  turnsOf(sids: string[]): Promise<TurnRow[]> {
    return this.request('turnsOf', sids);
  }
  events(f: { from?: number; to?: number; kind?: string; limit?: number }): Promise<EventRow[]> {
    return this.request('events', f);
  }
  trends(f: TrendFilter): Promise<Trends> {
    return this.request('trends', f);
  }
  purge(before: number): Promise<{ calls: number; turns: number; events: number }> {
    return this.request('purge', before);
  }

  /** Kills the thread at once (tests: a store lost mid-run). */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  /** Closes the store and ends the thread. */
  async close(): Promise<void> {
    if (this.lost) return;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.lost = 'closed';
    this.worker.postMessage('close');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    await this.worker.terminate();
  }
}
