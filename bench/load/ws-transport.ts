// The Media Streams WebSocket route served with the `ws` library instead of uWebSockets.js,
// for the transport comparison. Same engine, same MediaCall (unchanged), same bookkeeping
// as engine/server.ts's media route; only the socket library differs.
import { createServer, type Server as HttpServer } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import type { Engine } from '../../engine/engine.ts';

export interface WsMediaServer {
  port: number;
  close(): Promise<void>;
}

export function startWsMediaServer(engine: Engine, opts: { host?: string; port?: number } = {}): Promise<WsMediaServer> {
  const { config, metrics, log } = engine;
  const http: HttpServer = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('ws transport serves only /twilio/media');
  });
  const wss = new WebSocketServer({
    server: http,
    path: '/twilio/media',
    perMessageDeflate: false,
    maxPayload: Math.max(config.MAX_MESSAGE_BYTES * 4, 256 * 1024),
  });
  let seq = 0;
  wss.on('connection', (ws: WebSocket) => {
    if (engine.draining || engine.calls.size >= config.MAX_CALLS) {
      ws.close(1013, engine.draining ? 'shutting down' : 'at capacity');
      return;
    }
    const id = `ws-${++seq}`;
    let closed = false;
    const session = engine.newCall('media', {
      send: (text: string) => {
        if (!closed && ws.readyState === WebSocket.OPEN) ws.send(text);
      },
      close: (code: number, reason: string) => {
        if (!closed) ws.close(code, reason);
      },
    });
    engine.calls.set(id, session);
    metrics.callsActive.inc({ mode: 'media' });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const b = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        session.onMessage(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, true);
      } else session.onMessage(data.toString(), false);
    });
    ws.on('error', (err) => log.warn({ err, id }, 'ws transport: socket error'));
    ws.on('close', (code, reason) => {
      closed = true;
      engine.calls.delete(id);
      metrics.callsActive.dec({ mode: 'media' });
      session.closed(code, reason.toString());
    });
  });
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const addr = http.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const c of wss.clients) c.terminate();
            wss.close(() => {
              http.close(() => done());
              http.closeAllConnections();
            });
          }),
      });
    });
  });
}
