// A real Redis for the scale-out tests: REDIS_URL when set, else the machine's at 127.0.0.1:6379,
// else a redis-server started on a free port if one is installed. `reason` says plainly why
// there is none. Each test run gets its own key prefix, and cleans it up.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { freePort } from '../../bench/load/engine-process.ts';

export interface TestRedis {
  url: string;
  /** Unique per call: keys of one test file never meet another's. */
  prefix: string;
  /** Deletes every key under the prefix; stops a redis-server this helper started. */
  cleanup(): Promise<void>;
}

export type FindRedis = { redis: TestRedis; reason?: undefined } | { redis?: undefined; reason: string };

async function pings(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

export async function findRedis(): Promise<FindRedis> {
  const prefix = `weaver-test:${randomUUID().slice(0, 8)}:`;
  const candidates = process.env.REDIS_URL ? [process.env.REDIS_URL] : ['redis://127.0.0.1:6379'];
  for (const url of candidates) if (await pings(url)) return { redis: { url, prefix, cleanup: () => deletePrefix(url, prefix) } };
  if (process.env.REDIS_URL) return { reason: `REDIS_URL=${process.env.REDIS_URL} does not answer PING` };
  const port = await freePort();
  let proc: ChildProcess;
  try {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('spawn', () => resolve());
    });
  } catch {
    return { reason: 'no Redis: REDIS_URL is unset, nothing answers at 127.0.0.1:6379, and redis-server is not installed (apt-get install redis-server)' };
  }
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await pings(url)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await pings(url))) {
    proc.kill();
    return { reason: `redis-server started on port ${port} but does not answer` };
  }
  return { redis: { url, prefix, cleanup: async () => void proc.kill() } };
}

async function deletePrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/**
 * A TCP proxy in front of Redis: stop() cuts every connection and refuses new ones (Redis "dies"
 * for whoever connects through it, and only for them); start() brings it back on the same port.
 */
export class RedisProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  private held = false;

  constructor(private readonly target: { host: string; port: number }) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('data', (d) => (this.held ? undefined : upstream.write(d))); // held: Redis "hangs", commands get no answer
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** true: bytes from clients are swallowed (Redis slow to the point of silence); false: passed again. */
  hold(on: boolean): void {
    this.held = on;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }
}
