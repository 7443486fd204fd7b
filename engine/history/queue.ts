// The call history's write queue: bounded, batched, asynchronous. push() is all a call's path
// ever does (an array push, no I/O, never a throw); a timer hands batches to the store one at a
// time. When the store is slow or gone the queue fills, and past its bound new records are
// dropped and counted rather than held: memory stays bounded and no call waits. A batch the
// store refuses is retried once, then dropped and counted.

export type DropReason = 'queue_full' | 'write_failed' | 'store_lost';

export interface WriteQueueOptions<T> {
  /** Most records held; past it, push() drops. */
  max: number;
  /** Most records per store write. */
  batch: number;
  /** How often a partial batch is written. */
  flushMs: number;
  write(batch: T[]): Promise<void>;
  /** Records dropped, and why. */
  onDrop(n: number, reason: DropReason, err?: unknown): void;
  onWritten?(n: number): void;
  /** Wait before the one retry of a failed batch. */
  retryMs?: number;
  /** Whether the store can still take writes; false drops every batch as store_lost. */
  alive?(): boolean;
}

export class WriteQueue<T> {
  private items: T[] = [];
  private busy = false;
  private stopped = false;
  private soon = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly o: WriteQueueOptions<T>) {
    this.timer = setInterval(() => void this.pump(), o.flushMs);
    this.timer.unref();
  }

  get depth(): number {
    return this.items.length;
  }

  /** Queues a record; false when it was dropped (queue full or stopped). */
  push(x: T): boolean {
    if (this.stopped || this.items.length >= this.o.max) {
      this.o.onDrop(1, 'queue_full');
      return false;
    }
    this.items.push(x);
    if (this.items.length >= this.o.batch && !this.soon && !this.busy) {
      this.soon = true;
      setImmediate(() => {
        this.soon = false;
        void this.pump();
      });
    }
    return true;
  }

  /** Writes one batch if none is being written. */
  private async pump(): Promise<void> {
    if (this.busy || this.items.length === 0) return;
    this.busy = true;
    try {
      while (this.items.length > 0) {
        const batch = this.items.slice(0, this.o.batch);
        this.items = this.items.slice(batch.length);
        await this.writeOne(batch);
        if (this.items.length < this.o.batch) break; // a partial batch waits for the timer
      }
    } finally {
      this.busy = false;
    }
  }

  private async writeOne(batch: T[]): Promise<void> {
    if (this.o.alive && !this.o.alive()) return this.o.onDrop(batch.length, 'store_lost');
    try {
      await this.o.write(batch);
      this.o.onWritten?.(batch.length);
    } catch (first) {
      await new Promise((r) => setTimeout(r, this.o.retryMs ?? 1000));
      try {
        if (this.o.alive && !this.o.alive()) return this.o.onDrop(batch.length, 'store_lost', first);
        await this.o.write(batch);
        this.o.onWritten?.(batch.length);
      } catch (e) {
        this.o.onDrop(batch.length, 'write_failed', e);
      }
    }
  }

  /** Writes everything queued (waiting for a batch in flight), up to `ms`; then stops taking records. */
  async drain(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while ((this.items.length > 0 || this.busy) && Date.now() < deadline) {
      if (!this.busy) await this.pump();
      else await new Promise((r) => setTimeout(r, 10));
    }
    this.stop();
  }

  /** Stops the timer; records still queued are dropped and counted. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.items.length) this.o.onDrop(this.items.length, 'store_lost');
    this.items = [];
  }
}
