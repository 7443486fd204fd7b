// A FIFO async mutex. Every change to the index and the snapshot writer run through one, so a
// snapshot never reads an index that is half-way through an insert, evict or resize.
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = 0;

  /** Runs fn once every earlier holder has finished; errors go to the caller only. */
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      this.held++;
      try {
        return await fn();
      } finally {
        this.held--;
      }
    });
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  get locked(): boolean {
    return this.held > 0;
  }
}
