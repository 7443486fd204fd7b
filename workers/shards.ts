// Main-thread routing of calls to DSP shards. A shard is a Piscina pool of exactly one thread,
// so a call pinned to a shard always reaches the same worker and its DSP state (actor-style).
// New calls go to the shard with the fewest open calls.
//
// Batching: at most one task in flight per shard. Frames pushed while a task runs wait and go
// out together in the next task, so under load one task carries many calls' frames; when the
// shard is idle a frame leaves on the next setImmediate. Frames travel as one Uint8Array plus a
// small index (callIds, counts, option bytes); results come back as one transferred buffer.
//
// Worker crash: Piscina replaces the thread. The batch that was in flight is lost and its frames
// are DROPPED (not retried: a batch that killed a worker could kill the next one too); the calls'
// seq numbers skip them. The calls on that shard continue with fresh DSP state, because every
// task carries each call's options and the new worker creates state on first sight.
import { Piscina } from 'piscina';
import { silentLogger as rootLog, type Logger } from '../adapters/kit/log.ts';
import { decodeOptions, encodeOptions, FRAME_BYTES, viewResult, type DspTask } from './dsp-core.ts';
import { pinOnnxRuntime } from './silero.ts';
import type { DspChannel, DspFrame, DspOptions, DspShardStats } from './types.ts';

export interface DspShardDetail {
  calls: number;
  /** Call states alive in the worker after its last task (0 until it has answered once). */
  workerCalls: number;
  tasks: number;
  framesProcessed: number;
  workerRestarts: number;
  framesLost: number;
  queueDepth: number;
}

export type DspShardsStats = DspShardStats & { shards: DspShardDetail[] };

// Plain Node 20 cannot load .ts in a worker thread, and tsx's --import hook registers itself on
// the main thread only (so inheriting `--import tsx` in execArgv is not enough). From source,
// the worker starts at dsp-entry.mjs, which registers tsx in the thread and imports dsp.ts;
// this works the same under `npx tsx`, `npm start` and vitest. A compiled build loads dsp.js.
/** Least time between two batches to one shard under load (adds at most this to frame lag). */
const MIN_BATCH_GAP_MS = 4;
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './dsp-entry.mjs' : './dsp.js', import.meta.url);

class Channel implements DspChannel {
  closed = false;
  /** μ-law bytes not yet sent: whole frames first, then at most one partial frame. */
  private staged = new Uint8Array(FRAME_BYTES * 4);
  private stagedLen = 0;
  /** performance.now() at which each whole staged frame completed. */
  private arrived: number[] = [];
  private nextSeq = 0;
  /** Agent audio sent since the last task, each tagged with the staged frame it precedes (len -1: a clear). */
  private playouts: Array<{ frame: number; bytes: Uint8Array | null }> = [];

  constructor(
    readonly callId: string,
    readonly handle: number,
    readonly mode: number,
    readonly onFrames: (frames: DspFrame[]) => void,
    private readonly shard: Shard,
  ) {}

  get stagedFrames(): number {
    return this.arrived.length;
  }

  push(ulaw: Uint8Array): void {
    if (!(ulaw instanceof Uint8Array)) throw new TypeError('DspChannel.push expects a Uint8Array of μ-law bytes');
    // Late media after a hang-up is normal on a socket: ignore it rather than throw.
    if (this.closed || ulaw.length === 0) return;
    const need = this.stagedLen + ulaw.length;
    if (need > this.staged.length) {
      let cap = this.staged.length * 2;
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(this.staged.subarray(0, this.stagedLen));
      this.staged = grown;
    }
    this.staged.set(ulaw, this.stagedLen);
    this.stagedLen = need;
    const whole = Math.floor(need / FRAME_BYTES);
    if (whole > this.arrived.length) {
      const now = performance.now();
      while (this.arrived.length < whole) this.arrived.push(now);
      this.shard.markDirty(this);
    }
  }

  playout(ulaw: Uint8Array): void {
    if (this.closed || ulaw.length === 0) return;
    // It starts playing (at the earliest) while the next inbound frame is being captured.
    this.playouts.push({ frame: this.arrived.length, bytes: ulaw.slice() });
  }

  clearPlayout(): void {
    if (this.closed) return;
    this.playouts.push({ frame: this.arrived.length, bytes: null });
  }

  /** Takes the playout events staged with the frames being taken. */
  takePlayouts(): Array<{ frame: number; bytes: Uint8Array | null }> {
    const p = this.playouts;
    if (p.length > 0) this.playouts = [];
    return p;
  }

  /** Moves every whole staged frame into `out` at `offset`; returns their first seq and arrival times. */
  take(out: Uint8Array, offset: number): { seq: number; arrived: number[] } {
    const n = this.arrived.length;
    const bytes = n * FRAME_BYTES;
    out.set(this.staged.subarray(0, bytes), offset);
    this.staged.copyWithin(0, bytes, this.stagedLen);
    this.stagedLen -= bytes;
    const taken = { seq: this.nextSeq, arrived: this.arrived };
    this.arrived = [];
    this.nextSeq += n;
    return taken;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.arrived = [];
    this.playouts = [];
    this.stagedLen = 0;
    this.shard.release(this);
  }
}

interface BatchEntry {
  channel: Channel;
  seq: number;
  arrived: number[];
}

class Shard {
  readonly pool: Piscina<DspTask, ArrayBuffer>;
  readonly channels = new Map<string, Channel>();
  private readonly dirty = new Set<Channel>();
  private closes: number[] = [];
  /** Numeric call handles for tasks: a typed array transfers, an array of strings is cloned. */
  private nextHandle = 1;
  private inFlight: Promise<void> | null = null;
  private scheduled = false;
  /** performance.now() when the last task was posted. */
  private lastPost = -Infinity;
  private closing = false;
  private fault: DspTask['crash'];
  tasks = 0;
  framesProcessed = 0;
  workerRestarts = 0;
  framesLost = 0;
  workerCalls = 0;

  constructor(
    readonly index: number,
    private readonly log: Logger,
  ) {
    this.pool = new Piscina<DspTask, ArrayBuffer>({
      filename: WORKER_URL.href,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      // Inherited flags are dropped: the parent's loader flags do nothing in a worker on Node 20,
      // and process-wide flags (e.g. from a test runner) are rejected by worker threads.
      execArgv: [],
    });
    this.pool.on('workerDestroy', () => {
      if (this.closing) return;
      this.workerRestarts++;
      this.log.warn({ shard: index, calls: this.channels.size }, 'DSP worker died; Piscina is replacing it, its calls continue with fresh DSP state');
    });
    // A worker dying with no task in flight is reported here; without a listener it would throw.
    this.pool.on('error', (err: unknown) => this.log.error({ shard: index, err }, 'DSP pool error'));
  }

  open(callId: string, mode: number, onFrames: (frames: DspFrame[]) => void): Channel {
    const ch = new Channel(callId, this.nextHandle++, mode, onFrames, this);
    this.channels.set(callId, ch);
    return ch;
  }

  markDirty(ch: Channel): void {
    this.dirty.add(ch);
    this.schedule();
  }

  release(ch: Channel): void {
    this.dirty.delete(ch);
    this.channels.delete(ch.callId);
    this.closes.push(ch.handle);
    this.schedule();
  }

  /** The crash rides on the next batch that carries frames, so the worker dies holding some (as a real fault would). */
  injectFault(kind: NonNullable<DspTask['crash']>): void {
    this.fault = kind;
  }

  get queueDepth(): number {
    let n = 0;
    for (const ch of this.dirty) n += ch.stagedFrames;
    return n;
  }

  /**
   * Posts the next batch at once when the shard has been quiet, else no sooner than
   * MIN_BATCH_GAP_MS after the last one: under load a task then carries many calls' frames
   * instead of Piscina's per-task cost being paid for every few frames.
   */
  private schedule(): void {
    if (this.inFlight || this.scheduled || this.closing) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    const wait = this.lastPost + MIN_BATCH_GAP_MS - performance.now();
    if (wait > 0) setTimeout(run, wait);
    else setImmediate(run);
  }

  private flush(): void {
    if (this.inFlight || this.closing) return;
    if (this.dirty.size === 0 && this.closes.length === 0) return;
    let n = 0;
    for (const ch of this.dirty) n += ch.stagedFrames;
    const ulaw = new Uint8Array(n * FRAME_BYTES);
    const ids = new Uint32Array(this.dirty.size);
    const counts = new Uint32Array(this.dirty.size);
    const modes = new Uint8Array(this.dirty.size);
    const entries: BatchEntry[] = [];
    const events: number[] = [];
    const sent: Uint8Array[] = [];
    let sentBytes = 0;
    let off = 0;
    for (const ch of this.dirty) {
      const k = ch.stagedFrames;
      const c = entries.length;
      for (const p of ch.takePlayouts()) {
        events.push(c, p.frame, sentBytes, p.bytes ? p.bytes.length : -1);
        if (p.bytes) {
          sent.push(p.bytes);
          sentBytes += p.bytes.length;
        }
      }
      const { seq, arrived } = ch.take(ulaw, off);
      counts[c] = k;
      modes[c] = ch.mode;
      ids[c] = ch.handle;
      entries.push({ channel: ch, seq, arrived });
      off += k * FRAME_BYTES;
    }
    this.dirty.clear();
    const task: DspTask = { ulaw, ids, counts, modes, closed: this.closes, crash: this.fault };
    const transfer: ArrayBuffer[] = [ulaw.buffer, ids.buffer, counts.buffer, modes.buffer];
    if (events.length > 0) {
      const playout = new Uint8Array(sentBytes);
      let o = 0;
      for (const b of sent) {
        playout.set(b, o);
        o += b.length;
      }
      task.playout = playout;
      task.playoutEvents = Int32Array.from(events);
      transfer.push(playout.buffer, task.playoutEvents.buffer as ArrayBuffer);
    }
    this.closes = [];
    this.fault = undefined;
    this.tasks++;
    this.lastPost = performance.now();
    this.inFlight = this.pool
      .run(task, { transferList: transfer })
      .then(
        (buf) => this.deliver(buf, entries),
        (err: unknown) => {
          // Re-send the closes: harmless on a fresh worker, needed if this worker survived.
          this.closes.push(...task.closed);
          this.framesLost += n;
          this.log.error(
            { shard: this.index, err, lostFrames: n, calls: entries.map((e) => e.channel.callId) },
            'DSP batch lost (worker fault): its frames are dropped, not reprocessed',
          );
        },
      )
      .finally(() => {
        this.inFlight = null;
        if (this.dirty.size > 0 || this.closes.length > 0) this.schedule();
      });
  }

  private deliver(buf: ArrayBuffer, entries: BatchEntry[]): void {
    const r = viewResult(buf);
    const doneAt = performance.now();
    this.workerCalls = r.liveCalls;
    this.framesProcessed += r.n;
    let f = 0;
    for (const e of entries) {
      const k = e.arrived.length;
      if (!e.channel.closed) {
        const frames: DspFrame[] = new Array(k);
        for (let i = 0; i < k; i++) {
          const j = f + i;
          frames[i] = {
            seq: e.seq + i,
            speech: r.speech[j] === 1,
            prob: r.probs[j],
            echoDb: r.echoDb[j],
            echoShare: r.echoShare[j],
            levelDb: r.levels[j],
            pcm: r.pcm.subarray(j * FRAME_BYTES, (j + 1) * FRAME_BYTES),
            arrivedAt: e.arrived[i],
            doneAt,
          };
        }
        try {
          e.channel.onFrames(frames);
        } catch (err) {
          this.log.error({ shard: this.index, callId: e.channel.callId, err }, 'onFrames callback threw');
        }
      }
      f += k;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const ch of [...this.channels.values()]) ch.closed = true;
    this.channels.clear();
    this.dirty.clear();
    await this.inFlight;
    await this.pool.destroy();
  }

  detail(): DspShardDetail {
    return {
      calls: this.channels.size,
      workerCalls: this.workerCalls,
      tasks: this.tasks,
      framesProcessed: this.framesProcessed,
      workerRestarts: this.workerRestarts,
      framesLost: this.framesLost,
      queueDepth: this.queueDepth,
    };
  }
}

export class DspShards {
  private readonly shards: Shard[];
  private readonly defaults: DspOptions;
  private closed = false;

  constructor(opts: { threads: number; defaults: DspOptions; log?: Logger }) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > 64) {
      throw new RangeError(`DspShards: threads must be an integer 1..64, got ${String(opts.threads)}`);
    }
    encodeOptions(opts.defaults); // validates
    if (opts.defaults.vad === 'silero') pinOnnxRuntime();
    this.defaults = { ...opts.defaults };
    const log = (opts.log ?? rootLog).child({ component: 'dsp-shards' });
    this.shards = Array.from({ length: opts.threads }, (_, i) => new Shard(i, log));
  }

  /** Pins the call to the least-loaded shard. Its DSP state is created on the first frame. */
  open(callId: string, onFrames: (frames: DspFrame[]) => void, opts?: Partial<DspOptions>): DspChannel {
    if (this.closed) throw new Error('DspShards is closed');
    if (typeof callId !== 'string' || callId === '') throw new TypeError('callId must be a non-empty string');
    if (typeof onFrames !== 'function') throw new TypeError('onFrames must be a function');
    if (this.shards.some((s) => s.channels.has(callId))) throw new Error(`call ${callId} already has an open DSP channel`);
    const mode = encodeOptions({ ...this.defaults, ...opts });
    if (decodeOptions(mode).vad === 'silero') pinOnnxRuntime();
    let best = this.shards[0];
    for (const s of this.shards) if (s.channels.size < best.channels.size) best = s;
    return best.open(callId, mode, onFrames);
  }

  /** Index of the shard a call is pinned to (for tests and diagnostics), or -1. */
  shardOf(callId: string): number {
    return this.shards.findIndex((s) => s.channels.has(callId));
  }

  /**
   * @internal Test-only fault injection: the next task of the shard holding `callId` makes its
   * worker thread die ('exit' = process.exit in the thread, 'throw' = uncaught exception).
   */
  injectWorkerFault(callId: string, kind: 'exit' | 'throw' = 'exit'): void {
    const i = this.shardOf(callId);
    if (i < 0) throw new Error(`call ${callId} is not open`);
    this.shards[i].injectFault(kind);
  }

  stats(): DspShardsStats {
    const shards = this.shards.map((s) => s.detail());
    const sum = (k: keyof DspShardDetail): number => shards.reduce((a, s) => a + s[k], 0);
    return {
      threads: this.shards.length,
      calls: sum('calls'),
      tasks: sum('tasks'),
      framesProcessed: sum('framesProcessed'),
      workerRestarts: sum('workerRestarts'),
      framesLost: sum('framesLost'),
      queueDepth: sum('queueDepth'),
      shards,
    };
  }

  /** Stops every shard: waits for tasks in flight, drops frames not yet sent, ends the threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.shards.map((s) => s.close()));
  }
}
