// HTTP and WebSocket routes on uWebSockets.js. Thin: each route reads the request, hands it
// to the engine, and writes the answer.
import uWS from 'uWebSockets.js';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Engine } from './engine.ts';
import { guard, send, sendJson } from './http.ts';
import { connectTwiml } from './twilio/relay-twiml.ts';
import { twilioWebhook } from './twilio/signature.ts';
import { callSocketBehavior, type CallSocketData } from './call-socket.ts';

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

  app.post(
    '/twilio/voice',
    twilioWebhook(config, ({ res, g, info }) => {
      const params = new URLSearchParams(info.query);
      const wf = engine.workflow(params.get('workflow') ?? undefined);
      if (!wf) return send(res, g, '404 Not Found', 'text/plain', `unknown workflow ${params.get('workflow')}`);
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
    app.listen(config.HOST, config.PORT, (listenSocket: us_listen_socket | false) => {
      if (!listenSocket) return reject(new Error(`cannot listen on ${config.HOST}:${config.PORT} (port in use?)`));
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

