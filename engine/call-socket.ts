// What both call sockets (Media Streams and ConversationRelay) share on uWebSockets.js: the
// checks before an upgrade, and the socket a session writes to.
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { Engine, LiveCall } from './engine.ts';
import { requestInfo } from './http.ts';
import { checkUpgrade } from './twilio/signature.ts';

export interface CallSocketData {
  id: string;
  /** The peer's address, for the per-address limit. */
  ip: string;
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
  /** A peer stopped reading while the agent speaks: close it before its buffer grows without bound. */
  const slowReader = (ws: WebSocket<CallSocketData>) => {
    const data = ws.getUserData();
    metrics.socketsRefused.inc({ transport: mode, reason: 'slow_reader' });
    log.warn({ mode, socket: data.id, buffered: ws.getBufferedAmount(), limit: config.MAX_SOCKET_BUFFER_BYTES }, 'call socket not reading: closing it without a close frame (the peer sees 1006)');
    data.session?.end('slow-reader', 1008, `more than ${config.MAX_SOCKET_BUFFER_BYTES} bytes unread`);
    // A close frame (the 1008 above) would queue behind the bytes the peer does not read and never
    // reach it: the TCP connection is closed at once, the unsent bytes dropped, so the peer sees 1006.
    if (!data.closed) ws.close();
  };
  return {
    compression: uWS.DISABLED,
    // Hard cap; sessions apply MAX_MESSAGE_BYTES themselves and count what they drop.
    maxPayloadLength: Math.max(config.MAX_MESSAGE_BYTES * 4, 256 * 1024),
    idleTimeout: 120,
    upgrade: (res, req, context) => upgradeCall(engine, mode, res, req, context, { id: `${mode}-${++socketSeq}`, ip: Buffer.from(res.getRemoteAddressAsText()).toString(), closed: false }),
    open: (ws) => {
      const data = ws.getUserData();
      perIp.set(data.ip, (perIp.get(data.ip) ?? 0) + 1);
      try {
        data.session = open(sessionSocket(ws, config.MAX_SOCKET_BUFFER_BYTES, () => slowReader(ws)));
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
      const n = (perIp.get(data.ip) ?? 1) - 1;
      if (n > 0) perIp.set(data.ip, n);
      else perIp.delete(data.ip);
      if (!data.session) return;
      engine.calls.delete(data.id);
      metrics.callsActive.dec({ mode });
      const reason = Buffer.from(message).toString();
      if (code === 1009 || reason === UWS_TOO_BIG) {
        // uWebSockets.js dropped the peer before the session saw the message: counted here, or nowhere.
        metrics.socketsRefused.inc({ transport: mode, reason: 'message_too_large' });
        log.warn({ mode, socket: data.id }, 'call socket closed: message over the hard size limit');
      }
      try {
        data.session.closed(code, reason);
      } catch (err) {
        data.session.fail(err, 'socket close');
      }
    },
  };
}

/**
 * What uWebSockets.js (20.x) reports when it drops a peer for a message over maxPayloadLength:
 * code 1006, not 1009, and no close frame to the peer.
 */
const UWS_TOO_BIG = 'Received too big message';

/** Live call sockets per remote address (both routes). */
const perIp = new Map<string, number>();

/** Why the engine takes no new call whatever its resources: draining, or MAX_CALLS sockets open (the voice webhook asks too). */
export function capacityRefusal(engine: Pick<Engine, 'draining' | 'calls' | 'config'>): 'shutting down' | 'at capacity' | undefined {
  return engine.draining ? 'shutting down' : engine.calls.size >= engine.config.MAX_CALLS ? 'at capacity' : undefined;
}

/** Upgrades only a signed request (when a Twilio token is set) to a call socket while there is room. */
function upgradeCall(engine: Engine, mode: 'media' | 'relay', res: HttpResponse, req: HttpRequest, context: us_socket_context_t, data: CallSocketData): void {
  const info = requestInfo(req);
  const signed = checkUpgrade(engine.config, info); // over wss://PUBLIC_HOST/<path>
  if (!signed.ok) {
    engine.log.warn({ path: info.url, reason: signed.reason }, 'call socket upgrade refused');
    res.writeStatus('403 Forbidden').end(signed.reason);
    return;
  }
  const { MAX_CALLS_PER_IP } = engine.config;
  const refused = capacityRefusal(engine) ?? (MAX_CALLS_PER_IP > 0 && (perIp.get(data.ip) ?? 0) >= MAX_CALLS_PER_IP ? 'too many calls from this address' : undefined);
  if (refused) {
    engine.metrics.socketsRefused.inc({ transport: mode, reason: refused.replaceAll(' ', '_') });
    engine.log.warn({ mode, ip: data.ip, reason: refused }, 'call socket refused');
    res.writeStatus('503 Service Unavailable').end(refused);
    return;
  }
  // Resource pressure: logged when it starts and ends (engine.ts), counted per socket.
  const pressure = engine.admission.check();
  if (pressure) {
    engine.metrics.socketsRefused.inc({ transport: mode, reason: pressure.reason });
    res.writeStatus('503 Service Unavailable').end(pressure.text);
    return;
  }
  engine.admission.admitted();
  res.upgrade<CallSocketData>(data, info.headers['sec-websocket-key'], info.headers['sec-websocket-protocol'] ?? '', info.headers['sec-websocket-extensions'] ?? '', context);
}

/**
 * The socket a call writes to; writes after the socket closed are dropped, not thrown, and a peer
 * that lets more than `maxBuffered` bytes pile up unread is reported once.
 */
export function sessionSocket(ws: WebSocket<CallSocketData>, maxBuffered: number, onSlowReader: () => void): { send(text: string): void; close(code: number, reason: string): void; cork(fn: () => void): void } {
  const data = ws.getUserData();
  let reported = false;
  return {
    cork: (fn) => {
      if (!data.closed) ws.cork(fn);
    },
    send: (text) => {
      if (data.closed) return;
      ws.send(text, false);
      if (!reported && ws.getBufferedAmount() > maxBuffered) {
        reported = true;
        onSlowReader();
      }
    },
    close: (code, reason) => {
      if (!data.closed) ws.end(code, reason);
    },
  };
}
