// A loopback TCP proxy that makes a connection behave as if the server were `rttMs` away: data
// waits half the round trip each way, and nothing the client sends leaves before one round trip
// after it connected (the TCP handshake a loopback connect skips). TLS passes through untouched,
// so a new connection pays its TCP + TLS handshakes in round trips, as over a WAN, and a reused
// one does not. It counts the connections it accepted.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface WanDelay {
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, each chunk `delayMs` later than it arrived (and never before `notBefore()`). */
function delayed(from: Socket, to: Socket, delayMs: number, notBefore: () => number): void {
  let last = 0;
  from.on('data', (chunk: Buffer) => {
    const at = Math.max(performance.now() + delayMs, notBefore(), last); // order kept
    last = at;
    setTimeout(() => to.writable && to.write(chunk), at - performance.now());
  });
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, last - performance.now())));
  from.on('error', () => to.destroy());
  from.on('close', () => setTimeout(() => to.destroy(), Math.max(0, last - performance.now())));
}

export async function startWanDelay(target: { host: string; port: number }, rttMs: number): Promise<WanDelay> {
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server: Server = createServer((client) => {
    state.connections++;
    const connectedAt = performance.now();
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.setNoDelay(true);
    }
    delayed(client, upstream, rttMs / 2, () => connectedAt + rttMs + rttMs / 2);
    delayed(upstream, client, rttMs / 2, () => 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
