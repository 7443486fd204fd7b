// The call history's store thread: opens the store (migrating it), answers the main thread's
// requests (client.ts) one message each, and applies the retention (HISTORY_RETENTION_DAYS) at
// start and then hourly. better-sqlite3 blocks while it works; here it blocks only this thread.
import { parentPort, workerData } from 'node:worker_threads';
import { HistoryStore, type StoreOptions } from './store.ts';

export interface WorkerData {
  store: StoreOptions;
  retentionDays: number;
}

export type WorkerRequest = { id: number; method: StoreMethod; args: unknown[] };
export type WorkerMessage =
  | { type: 'ready'; dialect: string; migrated: string[]; schema?: string }
  | { type: 'failed'; error: string }
  | { type: 'purged'; calls: number; turns: number; events: number; before: number }
  | { type: 'purge-failed'; error: string }
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };

/** What the main thread may ask of the store. */
export const STORE_METHODS = ['write', 'listCalls', 'getCall', 'turnsOf', 'events', 'trends', 'purge'] as const;
export type StoreMethod = (typeof STORE_METHODS)[number];

const HOUR = 3_600_000;
const port = parentPort!;
const data = workerData as WorkerData;
const post = (m: WorkerMessage) => port.postMessage(m);
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

let store: HistoryStore;
try {
  store = await HistoryStore.open(data.store);
  post({ type: 'ready', dialect: store.dialect, migrated: store.migrated, schema: await store.schemaVersion() });
} catch (e) {
  post({ type: 'failed', error: message(e) });
  process.exit(0);
}

async function purge(): Promise<void> {
  const before = Date.now() - data.retentionDays * 24 * HOUR;
  try {
    post({ type: 'purged', ...(await store.purge(before)), before });
  } catch (e) {
    post({ type: 'purge-failed', error: message(e) });
  }
}
if (data.retentionDays > 0) {
  void purge();
  setInterval(() => void purge(), HOUR).unref();
}

port.on('message', async (req: WorkerRequest | 'close') => {
  if (req === 'close') {
    await store.close().catch(() => {});
    process.exit(0);
  }
  if (!(STORE_METHODS as readonly string[]).includes(req.method)) return post({ id: req.id, ok: false, error: `no such method ${req.method}` });
  try {
    const result = await (store[req.method] as (...a: unknown[]) => Promise<unknown>)(...req.args);
    post({ id: req.id, ok: true, result });
  } catch (e) {
    post({ id: req.id, ok: false, error: message(e) });
  }
});
