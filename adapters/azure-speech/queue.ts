// Turns the Speech SDK's callbacks into an async iterable: producers push/end/fail, one consumer
// iterates. Items pushed after end() or fail() are dropped, so nothing leaks past an abort.
export class PushQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private waitingReject: ((e: unknown) => void) | null = null;
  private ended = false;
  private error: unknown = undefined;

  push(v: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = this.waitingReject = null;
      w({ value: v, done: false });
    } else this.items.push(v);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = this.waitingReject = null;
      w({ value: undefined as never, done: true });
    }
  }

  fail(e: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = e;
    this.items = []; // an error (or abort) discards what was not consumed yet
    if (this.waitingReject) {
      const r = this.waitingReject;
      this.waiting = this.waitingReject = null;
      r(e);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.error !== undefined) return Promise.reject(this.error);
        if (this.ended) return Promise.resolve({ value: undefined as never, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.waitingReject = reject;
        });
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined as never, done: true });
      },
    };
  }
}
