// A TCP relay to a service (PostgreSQL, …) that a test or bench can cut: cut() destroys every
// connection through it and refuses new ones, restore() lets them through again.
import { createServer, Socket } from 'node:net';

export interface TcpRelay {
  /** 127.0.0.1 port the relay listens on. */
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = new Socket();
    upstream.connect(target.port, target.host);
    for (const x of [client, upstream]) {
      sockets.add(x);
      x.on('error', () => {});
      x.on('close', () => sockets.delete(x));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      open = false;
      for (const x of sockets) x.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
