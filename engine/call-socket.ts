// What both call sockets (Media Streams and ConversationRelay) share on uWebSockets.js: the
// checks before an upgrade, and the socket a session writes to.
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { Engine, LiveCall } from './engine.ts';
import { requestInfo } from './http.ts';
import { checkUpgrade } from './twilio/signature.ts';

export interface CallSocketData {
  id: string;
  closed: boolean;
  session?: LiveCall;
  /** Closes a socket that never sends start/setup. */
  startTimer?: ReturnType<typeof setTimeout>;
}

type SessionSocket = ReturnType<typeof sessionSocket>;

let socketSeq = 0;

/**
 * The WebSocket behaviour of a call route (media or relay): upgrade checks, one session per
 * socket made by `open`, messages to it, and the engine's live-call table and gauge kept right.
 */
export function callSocketBehavior(engine: Engine, mode: 'media' | 'relay', open: (socket: SessionSocket) => LiveCall): WebSocketBehavior<CallSocketData> {
  const { config, log, metrics } = engine;
  return {
    compression: uWS.DISABLED,
    // Hard cap; sessions apply MAX_MESSAGE_BYTES themselves and count what they drop.
    maxPayloadLength: Math.max(config.MAX_MESSAGE_BYTES * 4, 256 * 1024),
    idleTimeout: 120,
    upgrade: (res, req, context) => upgradeCall(engine, res, req, context, { id: `${mode}-${++socketSeq}`, closed: false }),
    open: (ws) => {
      const data = ws.getUserData();
      try {
        data.session = open(sessionSocket(ws));
      } catch (err) {
        metrics.errors.inc({ kind: 'call_exception' });
        log.error({ err, mode, socket: data.id }, 'could not create a call session: closing the socket');
        ws.end(1011, 'internal error');
        return;
      }
      engine.calls.set(data.id, data.session);
      metrics.callsActive.inc({ mode });
      data.startTimer = setTimeout(() => {
        if (data.closed || data.session?.state !== 'connecting') return;
        metrics.protocolErrors.inc({ transport: mode, kind: 'no_start' });
        log.warn({ mode, socket: data.id, timeoutMs: config.CALL_START_TIMEOUT_MS }, 'call socket sent no start: closing it');
        data.session.end('no-start', 1008, `no ${mode === 'media' ? 'start' : 'setup'} within ${config.CALL_START_TIMEOUT_MS} ms`);
      }, config.CALL_START_TIMEOUT_MS);
      data.startTimer.unref?.();
    },
    // The call's error boundary at the socket: a throw here would take uWebSockets.js (and every call) down.
    message: (ws, message, isBinary) => {
      const session = ws.getUserData().session;
      if (!session) return;
      try {
        session.onMessage(message, isBinary);
      } catch (err) {
        session.fail(err, 'socket message');
      }
    },
    close: (ws, code, message) => {
      const data = ws.getUserData();
      data.closed = true;
      clearTimeout(data.startTimer);
      if (!data.session) return;
      engine.calls.delete(data.id);
      metrics.callsActive.dec({ mode });
      if (code === 1009) log.warn({ mode, socket: data.id }, 'call socket closed: message over the hard size limit');
      try {
        data.session.closed(code, Buffer.from(message).toString());
      } catch (err) {
        data.session.fail(err, 'socket close');
      }
    },
  };
}

/** Upgrades only a signed request (when a Twilio token is set) to a call socket while there is room. */
function upgradeCall(engine: Engine, res: HttpResponse, req: HttpRequest, context: us_socket_context_t, data: CallSocketData): void {
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
  res.upgrade<CallSocketData>(data, info.headers['sec-websocket-key'], info.headers['sec-websocket-protocol'] ?? '', info.headers['sec-websocket-extensions'] ?? '', context);
}

/** The socket a session writes to; writes after the socket closed are dropped, not thrown. */
function sessionSocket(ws: WebSocket<CallSocketData>): { send(text: string): void; close(code: number, reason: string): void; cork(fn: () => void): void } {
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
