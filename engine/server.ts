// HTTP and WebSocket routes on uWebSockets.js. Thin: each route reads the request, hands it
// to the engine, and writes the answer.
import { createServer as createNetServer } from 'node:net';
import uWS from 'uWebSockets.js';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Engine } from './engine.ts';
import { guard, send, sendJson } from './http.ts';
import { connectTwiml } from './twilio/relay-twiml.ts';
import { busyTwiml } from './twilio/twiml.ts';
import { twilioWebhook } from './twilio/signature.ts';
import { callSocketBehavior, capacityRefusal, type CallSocketData } from './call-socket.ts';

// uWebSockets.js's listen options (its typings omit listen(host, port, options, cb)).
const LISTEN_DEFAULT = 0;
const LISTEN_EXCLUSIVE_PORT = 1;
type ListenWithOptions = (host: string, port: number, options: number, cb: (s: us_listen_socket | false) => void) => void;

/** Why listen failed, found by trying the address with Node (uWebSockets.js reports only false). */
async function listenFailure(host: string, port: number, sharing: boolean): Promise<Error> {
  const code = await new Promise<string | undefined>((resolve) => {
    const probe = createNetServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
  if (code && code !== 'EADDRINUSE') return new Error(`cannot listen on ${host}:${port} (${code})`);
  const how = sharing ? 'the process holding it does not share it (WEAVER_SHARE_PORT=true must be set on every engine sharing a port)' : 'stop the other engine, choose another PORT, or set WEAVER_SHARE_PORT=true on every engine meant to share it';
  return new Error(`port ${port} on ${host} is already in use: ${how}`);
}

/** Extra route groups (relay, call control, metrics, dashboard) plug in here. */
export type RouteGroup = (app: TemplatedApp, engine: Engine) => void;

export interface Server {
  port: number;
  /** Stops accepting connections, waits up to graceMs for calls to end, then ends the rest. */
  shutdown(graceMs: number): Promise<void>;
}

export function startServer(engine: Engine, extra: RouteGroup[] = []): Promise<Server> {
  const { config, log } = engine;
  const app = uWS.App();

  // The capacity refusal last logged at the webhook: one line when it starts and one when it ends, not one per caller.
  let full: string | undefined;
  app.post(
    '/twilio/voice',
    twilioWebhook(config, engine.metrics.webhookRejected, ({ res, g, info, reject }) => {
      const params = new URLSearchParams(info.query);
      // A call the engine cannot take (draining, MAX_CALLS, or near the fd or memory limit: admission
      // logs those) is rejected here as busy, before Twilio answers it or opens a socket. A 5xx would
      // make Twilio answer with its application-error message (or its fallback URL) instead.
      const atCapacity = capacityRefusal(engine);
      if (atCapacity !== full) {
        full = atCapacity;
        if (atCapacity) log.warn({ reason: atCapacity, calls: engine.calls.size, maxCalls: config.MAX_CALLS }, `voice webhook: ${atCapacity}, rejecting new calls as busy`);
        else log.info({ calls: engine.calls.size }, 'voice webhook: taking new calls again');
      }
      const refusal = atCapacity ? atCapacity.replaceAll(' ', '_') : engine.admission.check()?.reason;
      if (refusal) {
        engine.metrics.socketsRefused.inc({ transport: 'webhook', reason: refusal });
        return send(res, g, '200 OK', 'text/xml', busyTwiml());
      }
      const wf = engine.workflow(params.get('workflow') ?? undefined);
      if (!wf) return reject('404 Not Found', `unknown workflow ${params.get('workflow')}`);
      const host = config.PUBLIC_HOST ?? info.headers.host ?? `localhost:${config.PORT}`;
      send(res, g, '200 OK', 'text/xml', connectTwiml(wf, host)); // <Stream> or <ConversationRelay> by wf.mode
    }),
  );

  app.ws<CallSocketData>('/twilio/media', callSocketBehavior(engine, 'media', (socket) => engine.newCall('media', socket)));

  app.get('/health', (res) => sendJson(res, guard(res), '200 OK', engine.live.health()));

  for (const group of extra) group(app, engine);

  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').end('not found');
  });

  return new Promise((resolve, reject) => {
    // uWebSockets.js listens with SO_REUSEPORT unless told otherwise, so a second engine on a taken
    // port would start silently and take calls with its own configuration. Exclusive unless sharing
    // is asked for (WEAVER_SHARE_PORT, on every engine that shares the port).
    const options = config.WEAVER_SHARE_PORT ? LISTEN_DEFAULT : LISTEN_EXCLUSIVE_PORT;
    (app as unknown as { listen: ListenWithOptions }).listen(config.HOST, config.PORT, options, (listenSocket: us_listen_socket | false) => {
      if (!listenSocket) return void listenFailure(config.HOST, config.PORT, config.WEAVER_SHARE_PORT).then(reject);
      const port = uWS.us_socket_local_port(listenSocket);
      log.info({ port, host: config.HOST }, 'listening');
      resolve({
        port,
        async shutdown(graceMs) {
          engine.draining = true;
          uWS.us_listen_socket_close(listenSocket);
          log.info({ activeCalls: engine.calls.size, graceMs }, 'shutting down: refusing new calls');
          const deadline = Date.now() + graceMs;
          while (engine.calls.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
          for (const s of engine.calls.values()) s.end('shutdown', 1001, 'engine shutting down');
          await new Promise((r) => setTimeout(r, 50));
          await engine.close();
        },
      });
    });
  });
}

