import { describe, it, expect } from 'vitest';
import { parseInbound, mediaMessage, markMessage, clearMessage } from '../../engine/twilio/media-protocol.ts';

const MAX = 64 * 1024;
const parse = (m: unknown) => parseInbound(JSON.stringify(m), false, MAX);

describe('Media Streams inbound parsing', () => {
  it('accepts Twilio\'s start with string sequence numbers and custom parameters', () => {
    const r = parse({
      event: 'start',
      sequenceNumber: '1',
      streamSid: 'MZ1',
      start: { streamSid: 'MZ1', accountSid: 'AC1', callSid: 'CA1', tracks: ['inbound'], customParameters: { workflow: 'demo' }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
    });
    expect(r.ok && r.msg.event === 'start' && r.msg.sequenceNumber === 1 && r.msg.start.customParameters.workflow === 'demo').toBe(true);
  });

  it('decodes media payloads to bytes', () => {
    const payload = Buffer.from([0xff, 0x00, 0x7f]).toString('base64');
    const r = parse({ event: 'media', sequenceNumber: '3', streamSid: 'MZ1', media: { track: 'inbound', chunk: '2', timestamp: '40', payload } });
    expect(r.ok).toBe(true);
    if (r.ok && r.msg.event === 'media') {
      expect([...r.msg.media.payload]).toEqual([0xff, 0x00, 0x7f]);
      expect(r.msg.media.timestamp).toBe(40);
    }
  });

  it.each([
    ['not json', '{nope', false, 'not_json'],
    ['a JSON array', '[1,2]', false, 'not_json'],
    ['a binary frame', '{}', true, 'binary_frame'],
    ['an unknown event', JSON.stringify({ event: 'dance' }), false, 'unknown_event'],
    ['media without payload', JSON.stringify({ event: 'media', streamSid: 'MZ1', media: {} }), false, 'missing_field'],
    ['invalid base64', JSON.stringify({ event: 'media', streamSid: 'MZ1', media: { payload: '!!!not*base64' } }), false, 'bad_payload'],
    ['a bad dtmf digit', JSON.stringify({ event: 'dtmf', streamSid: 'MZ1', dtmf: { digit: 'x' } }), false, 'bad_payload'],
    ['an oversized message', 'x'.repeat(MAX + 1), false, 'oversized'],
    ['a start with another encoding', JSON.stringify({ event: 'start', streamSid: 'MZ1', start: { callSid: 'CA1', mediaFormat: { encoding: 'audio/l16' } } }), false, 'bad_payload'],
  ])('rejects %s with a typed error', (_name, data, binary, kind) => {
    const r = parseInbound(data as string, binary as boolean, MAX);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe(kind);
  });
});

describe('Media Streams outbound messages', () => {
  it('match the protocol note exactly', () => {
    expect(JSON.parse(mediaMessage('MZ9', new Uint8Array([1, 2, 3])))).toEqual({ event: 'media', streamSid: 'MZ9', media: { payload: 'AQID' } });
    expect(JSON.parse(markMessage('MZ9', 't1-1'))).toEqual({ event: 'mark', streamSid: 'MZ9', mark: { name: 't1-1' } });
    expect(JSON.parse(clearMessage('MZ9'))).toEqual({ event: 'clear', streamSid: 'MZ9' });
  });
});

describe('media payload base64', () => {
  it.each([['AAA'], ['AAAA AAA'], ['AA=A'], ['A==='], ['AAAA\nAAA']])('rejects %j', (payload) => {
    const r = parse({ event: 'media', streamSid: 'MZ1', media: { payload } });
    expect(r.ok).toBe(false);
  });
  it('accepts every padding form', () => {
    for (const n of [159, 160, 161]) {
      const bytes = Buffer.alloc(n, 7);
      const r = parse({ event: 'media', streamSid: 'MZ1', media: { payload: bytes.toString('base64') } });
      expect(r.ok && r.msg.event === 'media' && r.msg.media.payload.length).toBe(n);
    }
  });
});
