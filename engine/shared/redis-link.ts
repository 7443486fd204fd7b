// The engine's link to Redis (ioredis), built so Redis is never on the audio path:
// - commands fail fast instead of queueing while the link is down (no offline queue) and time
//   out after REDIS_COMMAND_TIMEOUT_MS, so a read never holds a turn;
// - writes are fire-and-forget: held in a bounded queue while the link is down and sent again
//   when it is back (retried up to MAX_ATTEMPTS), the oldest dropped past REDIS_WRITE_QUEUE_MAX;
//   every retry and drop is counted;
// - the connection comes back by itself with capped exponential backoff (jittered);
// - `degraded` is true while it is down, and /health says so.
// Three connections: commands, a subscriber (pub/sub), and a reader for blocking stream reads.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.ts';

export type LinkStatus = 'connecting' | 'up' | 'down';

/** Attempts per write before it is dropped. */
const MAX_ATTEMPTS = 3;
/** Round trips kept for the percentiles in health(). */
const RTT_SAMPLES = 512;

export interface RedisLinkOptions {
  url: string;
  /** Prefix of every key and channel. */
  prefix: string;
  commandTimeoutMs: number;
  writeQueueMax: number;
  log: Logger;
  /** Called on each transition (metrics). */
  onStatus?: (s: LinkStatus) => void;
}

export interface LinkCounters {
  writes: number;
  writeFailures: number;
  writesRetried: number;
  writesDropped: number;
  reads: number;
  readFailures: number;
  reconnects: number;
}

type Write = { what: string; run: (r: Redis) => Promise<unknown>; attempts: number };

/** Reconnect delay after `times` failed attempts: 50 ms doubling to 5 s, ±20 % jitter. */
export function backoffMs(times: number): number {
  const base = Math.min(5000, 50 * 2 ** Math.min(times, 10));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export class RedisLink {
  readonly prefix: string;
  /** Commands (reads and writes). */
  readonly cmd: Redis;
  /** Pub/sub subscriber. */
  readonly sub: Redis;
  /** Blocking stream reads (XREAD BLOCK). */
  readonly reader: Redis;
  readonly counters: LinkCounters = { writes: 0, writeFailures: 0, writesRetried: 0, writesDropped: 0, reads: 0, readFailures: 0, reconnects: 0 };
  private statusValue: LinkStatus = 'connecting';
  private downSince: number | null = null;
  private readonly queue: Write[] = [];
  private draining = false;
  private closed = false;
  private readonly rtt = new Float64Array(RTT_SAMPLES);
  private rttCount = 0;
  private readonly log: Logger;

  constructor(private readonly opts: RedisLinkOptions) {
    this.prefix = opts.prefix;
    this.log = opts.log.child({ component: 'redis' });
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false, // fail at once while down rather than queue behind a dead socket
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy: (times) => backoffMs(times),
      reconnectOnError: () => false,
    };
    this.cmd = new Redis(opts.url, { ...common, commandTimeout: opts.commandTimeoutMs, connectionName: 'weaver-cmd' });
    this.sub = new Redis(opts.url, { ...common, connectionName: 'weaver-sub' });
    this.reader = new Redis(opts.url, { ...common, connectionName: 'weaver-reader' });
    for (const c of [this.cmd, this.sub, this.reader]) c.on('error', () => {}); // reported through 'close'/status below
    this.cmd.on('ready', () => this.setStatus('up'));
    this.cmd.on('close', () => this.setStatus('down'));
    this.cmd.on('reconnecting', () => this.counters.reconnects++);
  }

  /** Opens the connections. Never throws: a Redis that is not there yet leaves the link down, retrying. */
  async connect(timeoutMs = 3000): Promise<boolean> {
    const tries = [this.cmd, this.sub, this.reader].map((c) => c.connect().catch(() => {}));
    await Promise.race([Promise.all(tries), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    if (this.statusValue !== 'up') {
      this.setStatus('down');
      this.log.warn({ url: redact(this.opts.url) }, 'Redis unreachable at startup: running on local state, reconnecting in the background');
    }
    return this.statusValue === 'up';
  }

  get status(): LinkStatus {
    return this.statusValue;
  }

  get up(): boolean {
    return this.statusValue === 'up';
  }

  get degraded(): boolean {
    return this.statusValue !== 'up';
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** Fire-and-forget write; never throws, never waits. */
  write(what: string, run: (r: Redis) => Promise<unknown>): void {
    if (this.closed) return;
    this.enqueue({ what, run, attempts: 0 });
    void this.drain();
  }

  /** A read with the command timeout; undefined when Redis is down, slow or failing. */
  async read<T>(what: string, run: (r: Redis) => Promise<T>): Promise<T | undefined> {
    if (!this.up || this.closed) return undefined;
    this.counters.reads++;
    const t0 = performance.now();
    try {
      const v = await run(this.cmd);
      this.sample(performance.now() - t0);
      return v;
    } catch (e) {
      this.counters.readFailures++;
      this.log.debug({ what, err: (e as Error).message }, 'Redis read failed');
      return undefined;
    }
  }

  /** Round-trip percentiles of the commands sent (ms). */
  rttMs(): { p50: number | null; p99: number | null; samples: number } {
    const n = Math.min(this.rttCount, RTT_SAMPLES);
    if (n === 0) return { p50: null, p99: null, samples: 0 };
    const s = this.rtt.slice(0, n).sort();
    const q = (p: number) => Math.round(s[Math.min(n - 1, Math.ceil(p * n) - 1)] * 100) / 100;
    return { p50: q(0.5), p99: q(0.99), samples: this.rttCount };
  }

  health(): object {
    return {
      status: this.statusValue,
      downForS: this.downSince === null ? 0 : Math.round((Date.now() - this.downSince) / 1000),
      queuedWrites: this.queue.length,
      ...this.counters,
      rttMs: this.rttMs(),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // One last chance for queued writes (a call's end), bounded.
    await Promise.race([this.drain(), new Promise((r) => setTimeout(r, 500).unref())]);
    this.closed = true;
    this.queue.length = 0;
    for (const c of [this.cmd, this.sub, this.reader]) c.disconnect(false);
  }

  private enqueue(w: Write): void {
    if (this.opts.writeQueueMax === 0 && !this.up) {
      this.counters.writesDropped++;
      return;
    }
    this.queue.push(w);
    while (this.queue.length > Math.max(1, this.opts.writeQueueMax)) {
      this.queue.shift();
      this.counters.writesDropped++;
    }
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length && this.up && !this.closed) {
        // Send what is queued concurrently (pipelined by ioredis), then look again.
        const batch = this.queue.splice(0, 256);
        await Promise.all(batch.map((w) => this.send(w)));
      }
    } finally {
      this.draining = false;
    }
  }

  private async send(w: Write): Promise<void> {
    const t0 = performance.now();
    try {
      await w.run(this.cmd);
      this.counters.writes++;
      this.sample(performance.now() - t0);
    } catch (e) {
      this.counters.writeFailures++;
      w.attempts++;
      if (w.attempts < MAX_ATTEMPTS && !this.closed) {
        this.counters.writesRetried++;
        this.enqueue(w); // sent again on the next drain (now if up, else once reconnected)
        if (this.up) setTimeout(() => void this.drain(), backoffMs(w.attempts)).unref();
      } else {
        this.counters.writesDropped++;
        this.log.debug({ what: w.what, err: (e as Error).message }, 'Redis write dropped');
      }
    }
  }

  private sample(ms: number): void {
    this.rtt[this.rttCount % RTT_SAMPLES] = ms;
    this.rttCount++;
  }

  private setStatus(s: LinkStatus): void {
    if (s === this.statusValue) return;
    const was = this.statusValue;
    this.statusValue = s;
    if (s === 'up') {
      if (was === 'down') this.log.info({ downForS: this.downSince === null ? 0 : Math.round((Date.now() - this.downSince) / 1000), queued: this.queue.length }, 'Redis reachable again');
      this.downSince = null;
      void this.drain();
    } else if (s === 'down') {
      this.downSince ??= Date.now();
      if (was === 'up') this.log.warn('Redis connection lost: calls go on with local state; reconnecting with backoff');
    }
    this.opts.onStatus?.(s);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
