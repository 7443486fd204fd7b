// A call's error boundary. An exception in one call's message handling, timers, promises or
// RxJS subscriptions ends that call (1011, one log line, weaver_errors_total{kind}) and never
// reaches the process: a throw inside a uWebSockets.js callback, an unhandled rejection (Node 20
// exits on one) or an RxJS error with no handler (rethrown on a timer) would end every call.
export class CallBoundary {
  private failed = false;

  /** `onFail` runs once, for the first failure; it should end the call. */
  constructor(private readonly onFail: (err: unknown, where: string) => void) {}

  /** Runs `fn`; a throw fails the call instead of propagating. */
  run<T>(where: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.fail(e, where);
      return undefined;
    }
  }

  /** `fn` wrapped in run(), for callbacks (RxJS next handlers, event listeners). */
  wrap<A extends unknown[]>(where: string, fn: (...args: A) => void): (...args: A) => void {
    return (...args) => void this.run(where, () => fn(...args));
  }

  /** A timer whose callback runs inside the boundary; unref'd, so it never holds the process. */
  later(where: string, ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => this.run(where, fn), ms);
    t.unref?.();
    return t;
  }

  /** A promise the call started but does not await: its rejection fails the call. */
  settle(where: string, p: Promise<unknown>): void {
    p.catch((e) => this.fail(e, where));
  }

  /** An RxJS error handler that fails the call. */
  errorHandler(where: string): (err: unknown) => void {
    return (e) => this.fail(e, where);
  }

  fail(err: unknown, where: string): void {
    if (this.failed) return;
    this.failed = true;
    try {
      this.onFail(err, where);
    } catch {
      // onFail already logged what it could; nothing may escape the boundary.
    }
  }
}
