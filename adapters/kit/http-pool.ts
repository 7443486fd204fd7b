// A provider's HTTP connection pool, so no TLS handshake or DNS lookup lands on a turn's
// critical path: an undici Agent that keeps connections alive between turns (Node's default
// fetch drops an idle connection after 4 s, shorter than the gap between most turns), can offer
// HTTP/2 by ALPN (off by default: undici multiplexes only requests it may retry, so concurrent
// POSTs, which every provider call is, still take a connection each), and can pre-connect an
// origin when a call starts. A pre-connect opens the TCP + TLS connection through
// the pool's own connector and parks it; the pool's next new connection to that origin is that
// socket (a request that starts while the handshake is still under way waits for it rather than
// opening a second one). No HTTP request is sent, so nothing is billed or rate-limited.
// Adapters hand `pool.fetch` to their SDK's `fetch` option (openai, @anthropic-ai/sdk,
// @elevenlabs/elevenlabs-js all take one).
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface HttpPoolOptions {
  /** Offer HTTP/2 by ALPN (the server picks; HTTP/1.1 otherwise). Default false. */
  http2?: boolean;
  /** How long an idle connection is kept (ms). Default 60 s; a server's own Keep-Alive hint can shorten it. */
  keepAliveMs?: number;
  /** TCP + TLS connect timeout (ms). Default 10 s. */
  connectTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM), e.g. a loopback test server's self-signed one. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** How long a pre-connected socket waits for a request before it is closed (ms). Default 30 s. */
  parkedMs?: number;
}

/** What the pool did, for tests and /health-style reporting. */
export interface HttpPoolStats {
  /** Connections opened for requests (not from a pre-connect). */
  connects: number;
  /** Pre-connects started. */
  preconnects: number;
  /** Pre-connected sockets a request then used. */
  preconnectsUsed: number;
  /** Pre-connects skipped because a connection was already open or opening. */
  preconnectsSkipped: number;
}

type Connector = ReturnType<typeof buildConnector>;
type ConnectOptions = Parameters<Connector>[0];
/** A pre-connect's socket; `taken` once a request has it (maybe before its handshake ended). */
type Parked = { ready: Promise<Socket | TLSSocket | null>; timer?: ReturnType<typeof setTimeout>; taken?: boolean };

const originOf = (o: { protocol: string; hostname: string; port: string }) => `${o.protocol}//${o.hostname}:${o.port || (o.protocol === 'https:' ? '443' : '80')}`;

export class HttpPool {
  readonly agent: Agent;
  readonly stats: HttpPoolStats = { connects: 0, preconnects: 0, preconnectsUsed: 0, preconnectsSkipped: 0 };
  private readonly connector: Connector;
  private readonly parked = new Map<string, Parked[]>();
  /** Connects the pool itself has under way, per origin. */
  private readonly connecting = new Map<string, number>();
  private readonly parkedMs: number;
  private closed = false;

  constructor(o: HttpPoolOptions = {}) {
    const keepAlive = o.keepAliveMs ?? 60_000;
    if (!(keepAlive > 0)) throw new Error(`HttpPool: keepAliveMs must be > 0, got ${o.keepAliveMs}`);
    this.parkedMs = o.parkedMs ?? 30_000;
    const allowH2 = o.http2 ?? false;
    this.connector = buildConnector({ allowH2, timeout: o.connectTimeoutMs ?? 10_000, keepAlive: true, ...(o.ca ? { ca: o.ca } : {}) });
    this.agent = new Agent({
      allowH2,
      keepAliveTimeout: keepAlive,
      keepAliveMaxTimeout: Math.max(keepAlive, 600_000),
      connect: (opts, cb) => this.connect(opts, cb),
    });
  }

  /** fetch bound to this pool, for an SDK's `fetch` option. */
  readonly fetch: typeof globalThis.fetch = Object.assign(
    async (input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) => {
      // Node's own FormData (what SDKs build uploads with) is not this undici's class, which
      // would send it as "[object FormData]": encode it with Node's Response first.
      if (init?.body instanceof globalThis.FormData) {
        const encoded = new globalThis.Response(init.body);
        const headers: Record<string, string> = {};
        new Headers(init.headers as HeadersInit | undefined).forEach((v, k) => (headers[k] = v));
        headers['content-type'] = encoded.headers.get('content-type')!;
        init = { ...init, headers, body: Buffer.from(await encoded.arrayBuffer()) };
      }
      return undiciFetch(input, { ...init, dispatcher: this.agent });
    },
    // SDKs probe fetch.Response to see whether uploads with Node's FormData work (the `openai` client does).
    { Response: globalThis.Response },
  ) as unknown as typeof globalThis.fetch;

  /**
   * Opens a connection to `url`'s origin unless one is idle or opening already, and parks it for
   * the next request (with every connection busy with other calls' requests, it opens a spare). Never throws: a failed pre-connect only means the request connects
   * itself. Resolves when the connection is ready (or failed).
   */
  async preconnect(url: string | URL): Promise<void> {
    if (this.closed) return;
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return;
    const origin = originOf(u);
    const live = (this.agent.stats as Record<string, { free?: number }>)[u.origin];
    if ((this.parked.get(origin)?.length ?? 0) > 0 || (this.connecting.get(origin) ?? 0) > 0 || Number(live?.free) > 0) {
      this.stats.preconnectsSkipped++;
      return;
    }
    this.stats.preconnects++;
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    // The connector derives the TLS server name from `host`, as it does for the pool's own connects.
    const opts: ConnectOptions = { hostname, host: u.host, protocol: u.protocol, port: u.port };
    const entry: Parked = {
      ready: new Promise((resolve) =>
        this.connector(opts, (err, socket) => {
          if (err || !socket) return resolve(null);
          socket.on('error', ignore); // until a request takes it; undici adds its own handlers then
          socket.unref(); // a parked socket never keeps the process alive
          socket.once('close', () => this.unpark(origin, entry));
          resolve(socket);
        }),
      ),
    };
    const list = this.parked.get(origin) ?? [];
    list.push(entry);
    this.parked.set(origin, list);
    const socket = await entry.ready;
    if (entry.taken) return; // a request has it now: undici owns its lifetime
    if (!socket) return this.unpark(origin, entry);
    if (this.closed) return void socket.destroy();
    // Unused for too long: the server would close it anyway; close it first, cleanly.
    entry.timer = setTimeout(() => {
      this.unpark(origin, entry);
      socket.destroy();
    }, this.parkedMs);
    entry.timer.unref?.();
  }

  private unpark(origin: string, entry: Parked): void {
    clearTimeout(entry.timer);
    const list = this.parked.get(origin);
    const i = list?.indexOf(entry) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list && list.length === 0) this.parked.delete(origin);
  }

  /** undici's connector hook: a parked (or still connecting) socket first, else a new one. */
  private connect(opts: ConnectOptions, cb: Parameters<Connector>[1]): void {
    const origin = originOf(opts);
    const entry = this.parked.get(origin)?.[0];
    if (!entry) return this.connectNew(origin, opts, cb);
    entry.taken = true;
    this.unpark(origin, entry);
    void entry.ready.then((socket) => {
      if (socket && !socket.destroyed && socket.readyState === 'open') {
        this.stats.preconnectsUsed++;
        socket.off('error', ignore);
        socket.ref(); // undici unrefs it again when it goes idle
        return cb(null, socket);
      }
      this.connectNew(origin, opts, cb);
    });
  }

  private connectNew(origin: string, opts: ConnectOptions, cb: Parameters<Connector>[1]): void {
    this.stats.connects++;
    this.connecting.set(origin, (this.connecting.get(origin) ?? 0) + 1);
    this.connector(opts, (err, socket) => {
      const n = (this.connecting.get(origin) ?? 1) - 1;
      if (n > 0) this.connecting.set(origin, n);
      else this.connecting.delete(origin);
      (cb as (e: Error | null, s: Socket | TLSSocket | null) => void)(err, socket);
    });
  }

  /** Closes every connection, parked ones included; later requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [origin, list] of [...this.parked]) {
      for (const entry of [...list]) {
        this.unpark(origin, entry);
        void entry.ready.then((s) => s?.destroy());
      }
    }
    await this.agent.close().catch(ignore);
  }
}

const ignore = () => {};

let shared: HttpPool | undefined;
let sharedOptions: HttpPoolOptions = {};

/**
 * The process's pool, which the built-in HTTP adapters use unless given their own: one pool
 * keeps one set of connections per origin however many providers, workflows and calls talk to it.
 */
export function sharedHttpPool(): HttpPool {
  return (shared ??= new HttpPool(sharedOptions));
}

/**
 * Sets the shared pool's options (the engine does, from its config, before building providers).
 * New options make a new pool for the adapters built from now on; the old one is not closed, as
 * adapters built before (another engine in the same process) still use it. Its idle sockets do
 * not keep the process alive.
 */
export function configureSharedHttpPool(o: HttpPoolOptions): void {
  if (JSON.stringify(o) === JSON.stringify(sharedOptions)) return;
  sharedOptions = o;
  shared = undefined;
}
