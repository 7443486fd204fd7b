// What both call sockets (Media Streams and ConversationRelay) share on uWebSockets.js: the
// checks before an upgrade, and the socket a session writes to.
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { Engine } from './engine.ts';
import { requestInfo } from './http.ts';
import { checkUpgrade } from './twilio/signature.ts';

export interface CallSocketData {
  id: string;
  closed: boolean;
}

/** Socket options for a call: a hard size cap (sessions apply MAX_MESSAGE_BYTES and count drops). */
export function callSocketOptions(engine: Engine): Pick<WebSocketBehavior<unknown>, 'compression' | 'maxPayloadLength' | 'idleTimeout'> {
  return { compression: uWS.DISABLED, maxPayloadLength: Math.max(engine.config.MAX_MESSAGE_BYTES * 4, 256 * 1024), idleTimeout: 120 };
}

/** Upgrades only a signed request (when a Twilio token is set) to a call socket while there is room. */
export function upgradeCall<T extends CallSocketData>(engine: Engine, res: HttpResponse, req: HttpRequest, context: us_socket_context_t, data: T): void {
  const info = requestInfo(req);
  const signed = checkUpgrade(engine.config, info); // over wss://PUBLIC_HOST/<path>
  if (!signed.ok) {
    engine.log.warn({ path: info.url, reason: signed.reason }, 'call socket upgrade refused');
    res.writeStatus('403 Forbidden').end(signed.reason);
    return;
  }
  if (engine.draining || engine.calls.size >= engine.config.MAX_CALLS) {
    res.writeStatus('503 Service Unavailable').end(engine.draining ? 'shutting down' : 'at capacity');
    return;
  }
  res.upgrade<T>(data, info.headers['sec-websocket-key'], info.headers['sec-websocket-protocol'] ?? '', info.headers['sec-websocket-extensions'] ?? '', context);
}

/** The socket a session writes to; writes after the socket closed are dropped, not thrown. */
export function sessionSocket(ws: WebSocket<CallSocketData>): { send(text: string): void; close(code: number, reason: string): void; cork(fn: () => void): void } {
  const data = ws.getUserData();
  return {
    cork: (fn) => {
      if (!data.closed) ws.cork(fn);
    },
    send: (text) => {
      if (!data.closed) ws.send(text, false);
    },
    close: (code, reason) => {
      if (!data.closed) ws.end(code, reason);
    },
  };
}
