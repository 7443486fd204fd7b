// Twilio Media Streams wire format: validation of what Twilio sends, builders for what we
// send back. Parsing never throws: bad input becomes a typed error the session can log,
// count and act on (Twilio itself rejects such messages with 31951).
import { asText, readJsonFrame } from './json-frame.ts';

export type InboundMessage =
  | { event: 'connected'; protocol?: string; version?: string }
  | {
      event: 'start';
      sequenceNumber: number;
      streamSid: string;
      start: {
        streamSid: string;
        accountSid: string;
        callSid: string;
        tracks: string[];
        customParameters: Record<string, string>;
        mediaFormat: { encoding: string; sampleRate: number; channels: number };
      };
    }
  | { event: 'media'; sequenceNumber: number; streamSid: string; media: { track: string; chunk: number; timestamp: number; payload: Uint8Array } }
  | { event: 'dtmf'; sequenceNumber: number; streamSid: string; dtmf: { track: string; digit: string } }
  | { event: 'mark'; sequenceNumber: number; streamSid: string; mark: { name: string } }
  | { event: 'stop'; sequenceNumber: number; streamSid: string; stop: { accountSid?: string; callSid?: string } };

export type ProtocolErrorKind = 'not_json' | 'binary_frame' | 'oversized' | 'unknown_event' | 'missing_field' | 'bad_payload';

export interface ProtocolError {
  kind: ProtocolErrorKind;
  message: string;
}

export type ParseResult = { ok: true; msg: InboundMessage } | { ok: false; error: ProtocolError };

const err = (kind: ProtocolErrorKind, message: string): ParseResult => ({ ok: false, error: { kind, message } });

/**
 * Decodes base64, or returns null for anything else. Buffer.from() silently skips characters
 * outside the alphabet, which would turn garbage into "audio": a decoded length short of what
 * the text's length promises gives it away (cheaper than a regex on every 20 ms frame).
 */
function strictBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return bytes.length === (text.length / 4) * 3 - pad ? bytes : null;
}

function str(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

/** Twilio sends numbers as JSON strings; accept either. */
function toInt(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

/**
 * Parses one inbound message. A text frame in the exact shape of Twilio's `media` message (50 a
 * second per call: most of what arrives) is read straight from its bytes (parseMediaFast); every
 * other message, and any media message the fast path is not sure of, goes through JSON.parse
 * (parseInboundGeneral), so the result, accepted or refused, is the same either way.
 */
export function parseInbound(data: ArrayBuffer | string, isBinary: boolean, maxBytes: number): ParseResult {
  if (!isBinary && typeof data !== 'string') {
    const fast = parseMediaFast(data, maxBytes);
    if (fast) return fast;
  }
  return parseInboundGeneral(data, isBinary, maxBytes);
}

/** The general parser: JSON.parse, then the checks of each event. The reference parseMediaFast must agree with. */
export function parseInboundGeneral(data: ArrayBuffer | string, isBinary: boolean, maxBytes: number): ParseResult {
  const frame = readJsonFrame(data, isBinary, maxBytes);
  if (!frame.ok) return err(frame.kind, frame.message);
  const m = frame.value as Record<string, any>;
  const seq = toInt(m.sequenceNumber);
  switch (m.event) {
    case 'connected':
      return { ok: true, msg: { event: 'connected', protocol: m.protocol, version: m.version } };
    case 'start': {
      const s = m.start;
      if (!str(m.streamSid) || typeof s !== 'object' || s === null) return err('missing_field', 'start needs streamSid and start{}');
      if (!str(s.callSid)) return err('missing_field', 'start.callSid missing');
      const fmt = s.mediaFormat ?? {};
      if (fmt.encoding !== undefined && fmt.encoding !== 'audio/x-mulaw') return err('bad_payload', `unsupported encoding ${asText(fmt.encoding).slice(0, 40)}`);
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.customParameters ?? {})) params[k] = asText(v);
      return {
        ok: true,
        msg: {
          event: 'start',
          sequenceNumber: seq ?? 0,
          streamSid: m.streamSid,
          start: {
            streamSid: m.streamSid,
            accountSid: asText(s.accountSid),
            callSid: s.callSid,
            tracks: Array.isArray(s.tracks) ? s.tracks.map(asText) : ['inbound'],
            customParameters: params,
            mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: toInt(fmt.sampleRate) ?? 8000, channels: toInt(fmt.channels) ?? 1 },
          },
        },
      };
    }
    case 'media': {
      const md = m.media;
      if (!str(m.streamSid) || typeof md !== 'object' || md === null || typeof md.payload !== 'string') return err('missing_field', 'media needs streamSid and media.payload');
      const payload = strictBase64(md.payload);
      if (!payload) return err('bad_payload', 'media.payload is not valid base64');
      return {
        ok: true,
        msg: {
          event: 'media',
          sequenceNumber: seq ?? 0,
          streamSid: m.streamSid,
          media: { track: md.track === undefined ? 'inbound' : asText(md.track), chunk: toInt(md.chunk) ?? 0, timestamp: toInt(md.timestamp) ?? 0, payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) },
        },
      };
    }
    case 'dtmf':
      if (!str(m.streamSid) || !str(m.dtmf?.digit)) return err('missing_field', 'dtmf needs streamSid and dtmf.digit');
      if (!/^[0-9*#A-D]$/.test(m.dtmf.digit)) return err('bad_payload', `invalid dtmf digit ${JSON.stringify(m.dtmf.digit)}`);
      return { ok: true, msg: { event: 'dtmf', sequenceNumber: seq ?? 0, streamSid: m.streamSid, dtmf: { track: m.dtmf.track === undefined ? 'inbound_track' : asText(m.dtmf.track), digit: m.dtmf.digit } } };
    case 'mark':
      if (!str(m.streamSid) || !str(m.mark?.name)) return err('missing_field', 'mark needs streamSid and mark.name');
      return { ok: true, msg: { event: 'mark', sequenceNumber: seq ?? 0, streamSid: m.streamSid, mark: { name: m.mark.name } } };
    case 'stop':
      if (!str(m.streamSid)) return err('missing_field', 'stop needs streamSid');
      return { ok: true, msg: { event: 'stop', sequenceNumber: seq ?? 0, streamSid: m.streamSid, stop: { accountSid: m.stop?.accountSid, callSid: m.stop?.callSid } } };
    default:
      return err('unknown_event', `unknown event ${JSON.stringify(asText(m.event)).slice(0, 40)}`);
  }
}

// ---- the media fast path

// A JSON string of printable ASCII without escapes, 1 to 15 digits (read exactly by Number, as
// toInt would), and base64 text (strictBase64 still checks its length and padding).
const S = '([\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*)';
const D = '([0-9]{1,15})';
const B = '([A-Za-z0-9+/]*={0,2})';
const MEDIA = `"media":\\{"track":"${S}","chunk":"${D}","timestamp":"${D}","payload":"${B}"\\}`;
/** streamSid before media (as the load generator sends), and Twilio's documented order (media, then streamSid). */
const MEDIA_LAST = new RegExp(`^\\{"event":"media","sequenceNumber":"${D}","streamSid":"${S}",${MEDIA}\\}$`);
const MEDIA_FIRST = new RegExp(`^\\{"event":"media","sequenceNumber":"${D}",${MEDIA},"streamSid":"${S}"\\}$`);

/**
 * Twilio's media message, read without JSON.parse when it has exactly Twilio's shape: the keys
 * `event`, `sequenceNumber`, `streamSid`, `media` {`track`, `chunk`, `timestamp`, `payload`} in
 * Twilio's order (streamSid before or after media), every value a string of printable ASCII
 * without escapes, no whitespace, the numbers 1 to 15 digits, the payload valid base64 (the same
 * strictBase64). Returns undefined for anything else, even a message parseInboundGeneral would
 * accept, and for one it would refuse: the caller then parses it the general way. So this accepts
 * only what the general parser accepts, with the same result, and never refuses anything.
 */
export function parseMediaFast(data: ArrayBuffer, maxBytes: number): ParseResult | undefined {
  const n = data.byteLength;
  if (n > maxBytes || n < 20) return undefined;
  const text = Buffer.from(data, 0, n).toString('latin1');
  let seq: string, streamSid: string, track: string, chunk: string, timestamp: string, payload: string;
  let m = MEDIA_LAST.exec(text);
  if (m) [, seq, streamSid, track, chunk, timestamp, payload] = m;
  else {
    m = MEDIA_FIRST.exec(text);
    if (!m) return undefined;
    [, seq, track, chunk, timestamp, payload, streamSid] = m;
  }
  if (streamSid === '') return undefined;
  const bytes = strictBase64(payload);
  if (!bytes) return undefined;
  return {
    ok: true,
    msg: {
      event: 'media',
      sequenceNumber: Number(seq),
      streamSid,
      media: { track, chunk: Number(chunk), timestamp: Number(timestamp), payload: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
    },
  };
}

// ---- outbound (no sequence numbers, no track)

export const mediaMessage = (streamSid: string, ulaw: Uint8Array): string =>
  JSON.stringify({ event: 'media', streamSid, media: { payload: Buffer.from(ulaw.buffer, ulaw.byteOffset, ulaw.byteLength).toString('base64') } });

export const markMessage = (streamSid: string, name: string): string => JSON.stringify({ event: 'mark', streamSid, mark: { name } });

export const clearMessage = (streamSid: string): string => JSON.stringify({ event: 'clear', streamSid });
