// Property tests of the two call-socket parsers (the fuzzer's first line, npm run reliability):
// whatever JSON arrives, they return a verdict and never throw. The fuzzer found that they did:
// String() and template literals throw on an object whose toString is not a function, which
// JSON.parse makes from {"event":{"toString":1}}; the socket's boundary caught it, but the call
// failed with a stack trace in the log.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseInbound } from '../../engine/twilio/media-protocol.ts';
import { parseRelayInbound } from '../../engine/twilio/relay-protocol.ts';

const MAX = 64 * 1024;
const poison = fc.constantFrom({ toString: 1 }, { toString: 1, valueOf: 2 }, { valueOf: {} , toString: [] }, Object.create(null));
const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), poison);
const mediaMsg = fc.record(
  {
    event: fc.oneof(fc.constantFrom('connected', 'start', 'media', 'dtmf', 'mark', 'stop'), value),
    streamSid: fc.oneof(fc.constant('MZ1'), value),
    sequenceNumber: value,
    start: fc.oneof(fc.record({ callSid: fc.oneof(fc.constant('CA1'), value), accountSid: value, tracks: fc.oneof(fc.array(value, { maxLength: 3 }), value), customParameters: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 4 }), value), mediaFormat: fc.oneof(fc.record({ encoding: value, sampleRate: value, channels: value }, { requiredKeys: [] }), value) }, { requiredKeys: [] }), value),
    media: fc.oneof(fc.record({ payload: fc.oneof(fc.base64String({ maxLength: 40 }), value), track: value, chunk: value, timestamp: value }, { requiredKeys: [] }), value),
    dtmf: fc.oneof(fc.record({ digit: fc.oneof(fc.constant('5'), value), track: value }, { requiredKeys: [] }), value),
    mark: fc.oneof(fc.record({ name: value }, { requiredKeys: [] }), value),
  },
  { requiredKeys: [] },
);
const relayMsg = fc.record(
  {
    type: fc.oneof(fc.constantFrom('setup', 'prompt', 'dtmf', 'interrupt', 'error', 'info'), value),
    callSid: fc.oneof(fc.constant('CA1'), value),
    sessionId: value,
    from: value,
    customParameters: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 4 }), value),
    voicePrompt: value,
    last: value,
    lang: value,
    digit: value,
    utteranceUntilInterrupt: value,
    durationUntilInterruptMs: value,
    description: value,
  },
  { requiredKeys: [] },
);

describe('call-socket parsers never throw', () => {
  it('refuses an unknown event or type that is an object without a callable toString, with a verdict', () => {
    const media = parseInbound('{"event":{"toString":1}}', false, MAX);
    expect(media).toMatchObject({ ok: false, error: { kind: 'unknown_event' } });
    const relay = parseRelayInbound('{"type":{"toString":1}}', false, MAX);
    expect(relay).toMatchObject({ ok: false, error: { kind: 'unknown_type' } });
    const start = parseInbound(JSON.stringify({ event: 'start', streamSid: 'MZ1', start: { callSid: 'CA1', accountSid: { toString: 1 }, tracks: [{ toString: 1 }], customParameters: { a: { toString: 1 } }, mediaFormat: { sampleRate: { valueOf: 1 } } } }), false, MAX);
    expect(start).toMatchObject({ ok: true, msg: { start: { accountSid: '{"toString":1}', customParameters: { a: '{"toString":1}' }, mediaFormat: { sampleRate: 8000 } } } });
  });

  it('media: any JSON object, text or binary, gets ok or a kind', () => {
    fc.assert(
      fc.property(mediaMsg, fc.boolean(), (m, binary) => {
        const text = JSON.stringify(m);
        const r = parseInbound(binary ? (new TextEncoder().encode(text).buffer as ArrayBuffer) : text, binary, MAX);
        expect(r.ok || typeof r.error.kind === 'string').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('relay: any JSON object gets ok or a kind', () => {
    fc.assert(
      fc.property(relayMsg, (m) => {
        const r = parseRelayInbound(JSON.stringify(m), false, MAX);
        expect(r.ok || typeof r.error.kind === 'string').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
