// The envelope both Twilio socket protocols share: one JSON object per text frame. Checks it
// before either protocol looks inside; never throws.

export type FrameErrorKind = 'binary_frame' | 'oversized' | 'not_json';

export type JsonFrame = { ok: true; value: Record<string, unknown> } | { ok: false; kind: FrameErrorKind; message: string };

/**
 * A field of a parsed frame as text. String() and template literals throw on an object whose
 * toString is not a function (`{"event":{"toString":1}}` parses to one); JSON.stringify cannot
 * throw on what JSON.parse made.
 */
export function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function readJsonFrame(data: ArrayBuffer | string, isBinary: boolean, maxBytes: number): JsonFrame {
  if (isBinary) return { ok: false, kind: 'binary_frame', message: 'binary frames are not part of the protocol' };
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  if (size > maxBytes) return { ok: false, kind: 'oversized', message: `message of ${size} bytes exceeds ${maxBytes}` };
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
  } catch {
    return { ok: false, kind: 'not_json', message: 'message is not valid JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, kind: 'not_json', message: 'message is not a JSON object' };
  return { ok: true, value: raw as Record<string, unknown> };
}
