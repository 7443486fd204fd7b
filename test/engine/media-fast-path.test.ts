// The media fast path (parseMediaFast) against the general parser it stands in for: whatever
// bytes arrive, parseInbound gives exactly what JSON.parse and the checks give (accepted with the
// same fields and payload bytes, or refused with the same kind and message), and the fast path
// itself only ever accepts, never refuses. The general parser is the reference.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseInbound, parseInboundGeneral, parseMediaFast, type ParseResult } from '../../engine/twilio/media-protocol.ts';

const MAX = 64 * 1024;
const enc = new TextEncoder();
const bytes = (s: string | Uint8Array): ArrayBuffer => {
  const u = typeof s === 'string' ? enc.encode(s) : s;
  return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
};
/** A result with its payload as a plain array, for deep equality. */
const plain = (r: ParseResult | undefined) => (r && r.ok && r.msg.event === 'media' ? { ...r, msg: { ...r.msg, media: { ...r.msg.media, payload: [...r.msg.media.payload] } } } : r);

const PAYLOAD = Buffer.from(Array.from({ length: 160 }, (_, i) => (i * 37) & 0xff)).toString('base64');
const SID = 'MZ18ad3ab5a668481ce02b83e7395059f0';
/** Twilio's documented order (streamSid last) and the load generator's (streamSid before media). */
const TWILIO = `{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"${PAYLOAD}"},"streamSid":"${SID}"}`;
const GENERATOR = `{"event":"media","sequenceNumber":"42","streamSid":"${SID}","media":{"track":"inbound","chunk":"41","timestamp":"800","payload":"${PAYLOAD}"}}`;

function agrees(buf: ArrayBuffer, max = MAX): void {
  const general = parseInboundGeneral(buf, false, max);
  const fast = parseMediaFast(buf, max);
  if (fast !== undefined) {
    expect(fast.ok).toBe(true); // the fast path never refuses
    expect(plain(fast)).toEqual(plain(general));
  }
  expect(plain(parseInbound(buf, false, max))).toEqual(plain(general));
}

describe('media fast path', () => {
  it("takes Twilio's media message in either key order, with the general parser's result", () => {
    for (const text of [TWILIO, GENERATOR]) {
      const fast = parseMediaFast(bytes(text), MAX);
      expect(fast).toBeDefined();
      expect(plain(fast)).toEqual(plain(parseInboundGeneral(text, false, MAX)));
    }
    const r = parseMediaFast(bytes(GENERATOR), MAX);
    expect(r).toMatchObject({ ok: true, msg: { event: 'media', sequenceNumber: 42, streamSid: SID, media: { track: 'inbound', chunk: 41, timestamp: 800 } } });
    expect(Buffer.from((r as { msg: { media: { payload: Uint8Array } } }).msg.media.payload).toString('base64')).toBe(PAYLOAD);
  });

  it('leaves to the general parser what it is not sure of, which then decides as before', () => {
    const cases = [
      TWILIO.replace('"chunk":"1"', '"chunk":1'), // a JSON number
      TWILIO.replace('{"event"', '{ "event"'), // whitespace
      TWILIO.replace('"track":"inbound"', '"track":"in\\u0062ound"'), // an escape
      TWILIO.replace('"payload":"', '"payload":"!'), // not base64: bad_payload
      TWILIO.replace(`"streamSid":"${SID}"`, '"streamSid":""'), // empty sid: missing_field
      TWILIO.replace(',"streamSid"', ',"extra":"x","streamSid"'), // unknown key
      TWILIO.replace('"sequenceNumber":"3"', '"sequenceNumber":"3","sequenceNumber":"4"'), // duplicate key
      TWILIO.slice(0, -1), // not JSON
      TWILIO.replace('"track":"inbound"', '"track":"é"'), // non-ASCII
    ];
    for (const text of cases) {
      expect(parseMediaFast(bytes(text), MAX)).toBeUndefined();
      agrees(bytes(text));
    }
    expect(parseInbound(bytes(TWILIO.replace('"payload":"', '"payload":"!')), false, MAX)).toMatchObject({ ok: false, error: { kind: 'bad_payload' } });
    expect(parseInbound(bytes(TWILIO.slice(0, -1)), false, MAX)).toMatchObject({ ok: false, error: { kind: 'not_json' } });
    // Over the size limit: refused as oversized, not read.
    expect(parseMediaFast(bytes(TWILIO), 100)).toBeUndefined();
    expect(parseInbound(bytes(TWILIO), false, 100)).toMatchObject({ ok: false, error: { kind: 'oversized' } });
  });

  // Values close to the edge: digits and not, escapes, quotes, non-ASCII, base64 and not.
  const str = fc.oneof(
    fc.constantFrom('', '0', '007', '123456789012345', '1234567890123456', '-1', '1.5', '1e3', ' 1', 'inbound', 'outbound', 'a"b', 'a\\b', 'é', '\u0001', SID),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'grapheme', maxLength: 4 }),
  );
  const b64 = fc.oneof(fc.base64String({ maxLength: 40 }), fc.constantFrom(PAYLOAD, 'AB==', 'A===', 'AB=C', 'ab-_', 'ab+/', 'QUJD\n', 'QUJ', ''), str);
  const jsonValue = fc.oneof(str, fc.integer(), fc.constant(null), fc.boolean());
  /** Mostly what Twilio sends, so that many messages are accepted and compared field by field. */
  const likely = <T, U>(good: fc.Arbitrary<T>, other: fc.Arbitrary<U>) => fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: other, weight: 1 });
  const num = likely(fc.oneof(fc.nat().map(String), fc.constantFrom('0', '007', '123456789012345')), jsonValue);
  const entry = <T>(key: string, v: fc.Arbitrary<T>, freq = 5) => fc.option(fc.tuple(fc.constant(key), v), { nil: undefined, freq });
  const track = likely(fc.constantFrom('inbound', 'outbound', ''), jsonValue);
  const payload = likely(fc.base64String({ maxLength: 40 }), fc.oneof(b64, jsonValue));
  // Twilio's keys in Twilio's order, or any subset in any order (with a stranger now and then).
  const media = likely(
    fc.tuple(track, num, num, payload).map(([t, c, ts, p]) => [['track', t], ['chunk', c], ['timestamp', ts], ['payload', p]] as Array<[string, unknown]>),
    fc
      .tuple(entry('track', track), entry('chunk', num), entry('timestamp', num), entry('payload', payload, 20), entry('extra', jsonValue, 1))
      .chain((es) => fc.shuffledSubarray(es.filter((e) => e !== undefined), { minLength: 0 })),
  );
  /** A message as text: Twilio's key orders mostly, else any order, with the raw JSON a serializer would write. */
  const message = fc
    .tuple(
      likely(fc.constant('media'), jsonValue),
      entry('sequenceNumber', num, 20),
      entry('streamSid', likely(fc.constant(SID), fc.oneof(fc.constant(''), jsonValue)), 20),
      fc.option(media, { nil: undefined, freq: 20 }),
      fc.constantFrom('sid-media', 'media-sid', 'any'),
      fc.infiniteStream(fc.double()),
    )
    .map(([event, seq, sid, md, order, noise]) => {
      const field = ([k, v]: [string, unknown]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`;
      const parts: string[] = [];
      if (seq) parts.push(field(seq));
      const m = md ? `"media":{${md.map(field).join(',')}}` : undefined;
      if (order === 'media-sid' && m) parts.push(m);
      if (sid) parts.push(field(sid));
      if (order !== 'media-sid' && m) parts.push(m);
      if (order === 'any') parts.sort(() => noise.next().value - 0.5);
      return `{"event":${JSON.stringify(event)}${parts.length ? ',' + parts.join(',') : ''}}`;
    });

  it('agrees with the general parser on generated media messages', () => {
    let fast = 0;
    fc.assert(
      fc.property(message, (text) => {
        if (parseMediaFast(bytes(text), MAX)) fast++;
        agrees(bytes(text));
      }),
      { numRuns: 3000 },
    );
    // The comparison means something only if many generated messages took the fast path.
    expect(fast).toBeGreaterThan(150);
  });

  it('agrees with the general parser on byte edits of a real media message', () => {
    const base = enc.encode(TWILIO);
    const edit = fc.oneof(
      fc.record({ at: fc.nat(base.length - 1), op: fc.constant('set' as const), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ at: fc.nat(base.length - 1), op: fc.constant('delete' as const), byte: fc.constant(0) }),
      fc.record({ at: fc.nat(base.length), op: fc.constant('insert' as const), byte: fc.constantFrom(0x20, 0x22, 0x2c, 0x3a, 0x5c, 0x7b, 0x7d, 0x3d, 0x41, 0x30, 0xc3, 0x00) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), fc.integer({ min: 200, max: 400 }), (edits, max) => {
        let b = [...base];
        for (const e of edits) {
          const at = Math.min(e.at, b.length - (e.op === 'insert' ? 0 : 1));
          if (e.op === 'set') b[at] = e.byte;
          else if (e.op === 'delete') b.splice(at, 1);
          else b.splice(at, 0, e.byte);
        }
        agrees(bytes(Uint8Array.from(b)), max);
      }),
      { numRuns: 5000 },
    );
  });
});
