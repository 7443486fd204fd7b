// Main-thread side of the embedding pool: an EmbeddingProvider whose work runs in Piscina
// threads (workers/embed.ts). Texts that arrive while the threads are busy are batched into the
// next task, so a burst of lookups costs one round trip per thread, not one per text.
import { Piscina } from 'piscina';
import type { EmbeddingProvider } from '../../adapters/kit/types.ts';
import type { HashingEmbeddingOptions } from '../../adapters/local/hashing-embedding.ts';
import type { TransformersEmbeddingOptions } from '../../adapters/transformers/embedding.ts';
import type { EmbedBackend, EmbedInfo, EmbedTask } from '../../workers/embed.ts';

export type EmbedBackendSpec = ({ kind: 'hashing' } & HashingEmbeddingOptions) | ({ kind: 'transformers' } & TransformersEmbeddingOptions);

export interface EmbedPoolOptions {
  threads: number;
  /** Most texts per task. */
  maxBatch?: number;
}

interface Pending {
  text: string;
  resolve: (v: Float32Array) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
}

// Node cannot load .ts workers by itself, and tsx's --import hook does not reach worker threads
// on Node 20: from source the threads start at embed-entry.mjs, which registers tsx in the
// thread (as the DSP shards do); a compiled build loads embed.js. The same path serves
// `npx tsx`, `npm start` and vitest, and no execArgv is inherited (a Worker refuses heap flags).
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER = new URL(FROM_SOURCE ? '../../workers/embed-entry.mjs' : '../../workers/embed.js', import.meta.url);
const EXT = FROM_SOURCE ? '.ts' : '.js';

/** The module each thread imports to build the backend (the worker itself imports no adapter). */
function backendOf(spec: EmbedBackendSpec): EmbedBackend {
  const { kind, ...options } = spec;
  const path = kind === 'hashing' ? '../../adapters/local/hashing-embedding' : '../../adapters/transformers/embedding';
  return { module: new URL(path + EXT, import.meta.url).href, options };
}

export class EmbedPool implements EmbeddingProvider {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private tasksRun = 0;
  private readonly maxBatch: number;
  private fault = false;

  private constructor(
    private readonly pool: Piscina,
    private readonly threads: number,
    readonly name: string,
    readonly dimensions: number,
    maxBatch: number,
  ) {
    this.maxBatch = maxBatch;
  }

  /** Starts the threads and loads the backend in one of them; load errors surface here. */
  static async start(spec: EmbedBackendSpec, opts: EmbedPoolOptions): Promise<EmbedPool> {
    const threads = Math.max(1, opts.threads);
    const pool = new Piscina({
      filename: WORKER.href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      workerData: { backend: backendOf(spec) },
      execArgv: [],
    });
    try {
      const probe = (await pool.run({ info: true } satisfies EmbedTask)) as EmbedInfo;
      return new EmbedPool(pool, threads, `${probe.name}@pool`, probe.dimensions, opts.maxBatch ?? 64);
    } catch (e) {
      await pool.destroy().catch(() => {});
      throw e;
    }
  }

  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(new Error('embedding pool is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    const all = texts.map(
      (text) =>
        new Promise<Float32Array>((resolve, reject) => {
          this.queue.push({ text, resolve, reject, signal });
        }),
    );
    this.schedule();
    return Promise.all(all);
  }

  /** Worker tasks run so far (fewer than texts when batching works). */
  get tasks(): number {
    return this.tasksRun;
  }

  /** Texts waiting for a thread (for tests and stats). */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate: texts queued in the same turn of the event loop ride one task.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.threads && this.queue.length > 0) {
      const batch: Pending[] = [];
      while (batch.length < this.maxBatch && this.queue.length > 0) {
        const p = this.queue.shift()!;
        if (p.signal?.aborted) p.reject(p.signal.reason ?? new Error('aborted'));
        else batch.push(p);
      }
      if (batch.length === 0) continue;
      this.inFlight++;
      this.tasksRun++;
      const crash = this.fault ? ({ crash: true } as const) : {};
      this.fault = false;
      // A thread that dies fails its batch (the cache counts a miss); Piscina starts a new one.
      this.pool
        .run({ texts: batch.map((p) => p.text), ...crash } satisfies EmbedTask)
        .then(
          (flat: Float32Array) => {
            const d = this.dimensions;
            batch.forEach((p, i) => p.resolve(flat.slice(i * d, (i + 1) * d)));
          },
          (e: unknown) => batch.forEach((p) => p.reject(e)),
        )
        .finally(() => {
          this.inFlight--;
          if (this.queue.length > 0) this.flush();
        });
    }
  }

  /** @internal Test-only fault injection: the thread that takes the next batch dies running it. */
  injectWorkerFault(): void {
    this.fault = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('embedding pool closed'));
    await this.pool.destroy();
  }
}
