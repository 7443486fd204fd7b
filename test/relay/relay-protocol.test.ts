import { describe, it, expect } from 'vitest';
import { parseRelayInbound, textMessage, playMessage, sendDigitsMessage, languageMessage, endMessage } from '../../engine/twilio/relay-protocol.ts';

const MAX = 64 * 1024;
const parse = (m: unknown) => parseRelayInbound(JSON.stringify(m), false, MAX);

describe('ConversationRelay inbound parsing', () => {
  it('reads setup with its custom parameters', () => {
    const r = parse({ type: 'setup', sessionId: 'VX1', accountSid: 'AC1', callSid: 'CA1', from: '+1555', to: '+1666', direction: 'inbound', callStatus: 'RINGING', customParameters: { workflow: 'demo-relay', n: 3 } });
    expect(r.ok).toBe(true);
    if (r.ok && r.msg.type === 'setup') {
      expect(r.msg.callSid).toBe('CA1');
      expect(r.msg.customParameters).toEqual({ workflow: 'demo-relay', n: '3' });
      expect(r.msg.from).toBe('+1555');
    }
  });

  it('tells partial prompts from final ones; a prompt without `last` is final', () => {
    const partial = parse({ type: 'prompt', voicePrompt: 'Is there', lang: 'en-US', last: false });
    const final = parse({ type: 'prompt', voicePrompt: 'Is there parking?', lang: 'en-US' });
    expect(partial.ok && partial.msg.type === 'prompt' && partial.msg.last).toBe(false);
    expect(final.ok && final.msg.type === 'prompt' && final.msg.last).toBe(true);
  });

  it('accepts durationUntilInterruptMs as a number or a numeric string', () => {
    for (const d of [1200, '1200']) {
      const r = parse({ type: 'interrupt', utteranceUntilInterrupt: 'We are open', durationUntilInterruptMs: d });
      expect(r.ok && r.msg.type === 'interrupt' && r.msg.durationUntilInterruptMs).toBe(1200);
    }
  });

  it('passes Twilio error and info messages through', () => {
    const e = parse({ type: 'error', description: 'Invalid message received' });
    expect(e.ok && e.msg.type === 'error' && e.msg.description).toBe('Invalid message received');
    expect(parse({ type: 'info', name: 'tokensPlayed' }).ok).toBe(true);
  });

  it.each([
    ['not json', '{nope', false, 'not_json'],
    ['a JSON array', '[1]', false, 'not_json'],
    ['a binary frame', '{}', true, 'binary_frame'],
    ['an unknown type', JSON.stringify({ type: 'dance' }), false, 'unknown_type'],
    ['no type at all', JSON.stringify({ voicePrompt: 'hi' }), false, 'missing_field'],
    ['a setup without callSid', JSON.stringify({ type: 'setup', sessionId: 'VX1' }), false, 'missing_field'],
    ['setup parameters that are not an object', JSON.stringify({ type: 'setup', callSid: 'CA1', customParameters: 'x' }), false, 'bad_value'],
    ['a prompt without voicePrompt', JSON.stringify({ type: 'prompt', last: true }), false, 'missing_field'],
    ['a prompt whose last is not a boolean', JSON.stringify({ type: 'prompt', voicePrompt: 'x', last: 'no' }), false, 'bad_value'],
    ['a dtmf without digit', JSON.stringify({ type: 'dtmf' }), false, 'missing_field'],
    ['a bad dtmf digit', JSON.stringify({ type: 'dtmf', digit: '12' }), false, 'bad_value'],
    ['an interrupt without utterance', JSON.stringify({ type: 'interrupt', durationUntilInterruptMs: 3 }), false, 'missing_field'],
    ['an interrupt with a bad duration', JSON.stringify({ type: 'interrupt', utteranceUntilInterrupt: '', durationUntilInterruptMs: 'soon' }), false, 'bad_value'],
    ['an oversized message', JSON.stringify({ type: 'prompt', voicePrompt: 'x'.repeat(MAX) }), false, 'oversized'],
  ])('rejects %s with a typed error', (_name, data, binary, kind) => {
    const r = parseRelayInbound(data as string, binary as boolean, MAX);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe(kind);
  });

  it('measures size in bytes, not characters', () => {
    const cjk = JSON.stringify({ type: 'prompt', voicePrompt: '診'.repeat(400), last: true }); // ~1.2 kB of UTF-8
    expect(parseRelayInbound(cjk, false, 1024).ok).toBe(false);
    expect(parseRelayInbound(cjk, false, 2048).ok).toBe(true);
  });
});

describe('ConversationRelay outbound builders', () => {
  it('keeps token whitespace and the last flag', () => {
    expect(JSON.parse(textMessage(' parking', false))).toEqual({ type: 'text', token: ' parking', last: false });
    expect(JSON.parse(textMessage('', true, { lang: 'es-ES', interruptible: false }))).toEqual({ type: 'text', token: '', last: true, lang: 'es-ES', interruptible: false });
  });

  it('builds play, sendDigits, language and end, and refuses bad values', () => {
    expect(JSON.parse(playMessage('https://example.com/hold.mp3', { loop: 2 }))).toEqual({ type: 'play', source: 'https://example.com/hold.mp3', loop: 2 });
    expect(() => playMessage('file:///etc/passwd')).toThrow(/http/);
    expect(JSON.parse(sendDigitsMessage('12w#'))).toEqual({ type: 'sendDigits', digits: '12w#' });
    expect(() => sendDigitsMessage('12a')).toThrow(/0-9/);
    expect(JSON.parse(languageMessage({ ttsLanguage: 'yue-HK', transcriptionLanguage: 'yue-HK' }))).toEqual({ type: 'language', ttsLanguage: 'yue-HK', transcriptionLanguage: 'yue-HK' });
    expect(() => languageMessage({})).toThrow();
    expect(JSON.parse(endMessage())).toEqual({ type: 'end' });
    // Twilio forwards handoffData as a string: objects travel as JSON text.
    const end = JSON.parse(endMessage({ reason: 'transfer', queue: 'front-desk' }));
    expect(JSON.parse(end.handoffData)).toEqual({ reason: 'transfer', queue: 'front-desk' });
  });
});
