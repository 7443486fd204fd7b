// What the loopback fakes of HTTP services share: a server on 127.0.0.1 whose close() also ends
// open sockets and pending timers, request body reading, and the UpstreamProbe the conformance
// suite uses (adapters/testkit/conformance.ts) to hold a response after its first output and
// to see whether the adapter closed its connection.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { UpstreamProbe } from '../../adapters/testkit/conformance.ts';

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/**
 * Holds streams after their first output while held, and counts what is open. A fake calls
 * `track` for each streaming response (or socket) and `gate()` after writing its first output.
 */
export class Probe implements UpstreamProbe {
  private held = false;
  private waiting: Array<() => void> = [];
  private openCount = 0;

  hold(): void {
    this.held = true;
  }
  release(): void {
    this.held = false;
    for (const w of this.waiting.splice(0)) w();
  }
  open(): number {
    return this.openCount;
  }
  /** Counts `res` as open until it closes (finished or dropped by the client). */
  track(closable: { once(event: 'close', f: () => void): unknown }): void {
    this.openCount++;
    closable.once('close', () => this.openCount--);
  }
  /** Resolves at once, or on release() while held. */
  gate(): Promise<void> {
    return this.held ? new Promise((r) => this.waiting.push(r)) : Promise.resolve();
  }
}

/** Faults consumed one per request, in order, then the default. */
export class FaultQueue<F> {
  private queue: F[];
  constructor(
    faults: F[] | undefined,
    private fallback: F,
  ) {
    this.queue = [...(faults ?? [])];
  }
  next(): F {
    return this.queue.shift() ?? this.fallback;
  }
  set(faults: F[], fallback?: F): void {
    this.queue = [...faults];
    if (fallback) this.fallback = fallback;
  }
}

/** Marks `log.aborted` when the client closes the connection before the response finished. */
export function watchAbort(res: ServerResponse, log: { aborted: boolean }): void {
  res.on('close', () => {
    if (!res.writableFinished) log.aborted = true;
  });
}

export interface Loopback {
  server: Server;
  origin: string;
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  readonly connections: number;
  /** A timer close() clears. */
  wait(ms: number): Promise<void>;
  /** Ends the response after what was written reaches the client: a dropped connection. */
  drop(res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

export async function startLoopback(handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<Loopback> {
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(e) }));
      else res.destroy();
    });
  });
  let connections = 0;
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const wait = (ms: number) =>
    new Promise<void>((r) => {
      if (ms <= 0) return r();
      const t = setTimeout(() => {
        timers.delete(t);
        r();
      }, ms);
      timers.add(t);
    });
  return {
    server,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return connections;
    },
    wait,
    async drop(res) {
      await wait(20);
      res.socket?.end();
      res.socket?.destroySoon?.();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
