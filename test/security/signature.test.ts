// Signature checks against twilio-node's own signer as the oracle.
import { describe, it, expect } from 'vitest';
import twilio from 'twilio';
import { checkWebhook, checkUpgrade, constantTimeEqual, formParams, securityWarnings, webhookUrl } from '../../engine/twilio/signature.ts';
import { checkApiAuth } from '../../engine/calls/api-auth.ts';
import type { RequestInfo } from '../../engine/http.ts';

const TOKEN = '12345678901234567890123456789012';
const config = { TWILIO_AUTH_TOKEN: TOKEN, PUBLIC_HOST: 'weaver.example.com' };
const params = { CallSid: 'CA1', From: '+15550001111', To: '+15550002222', CallStatus: 'ringing' };
const body = new URLSearchParams(params).toString();
const req = (url: string, query: string, headers: Record<string, string> = {}): RequestInfo => ({ method: 'POST', url, query, headers: { host: '127.0.0.1:8080', ...headers } });
const sign = (url: string, p: Record<string, unknown> = params) => twilio.getExpectedTwilioSignature(TOKEN, url, p);

describe('webhook signatures', () => {
  it('accepts what Twilio signs: the public https URL with query, plus the POST params', () => {
    const sig = sign('https://weaver.example.com/twilio/voice?workflow=demo-relay');
    const v = checkWebhook(config, req('/twilio/voice', 'workflow=demo-relay', { 'x-twilio-signature': sig }), body);
    expect(v).toEqual({ ok: true, verified: true });
    // The oracle agrees on the URL we rebuilt.
    expect(twilio.validateRequest(TOKEN, sig, webhookUrl(config, req('/twilio/voice', 'workflow=demo-relay')), params)).toBe(true);
  });

  it('handles repeated params the way twilio-node signs them', () => {
    const p = { CallSid: 'CA1', StatusCallbackEvent: ['ringing', 'answered'] };
    const raw = 'CallSid=CA1&StatusCallbackEvent=ringing&StatusCallbackEvent=answered';
    expect(formParams(raw)).toEqual(p);
    const sig = sign('https://weaver.example.com/twilio/status', p);
    expect(checkWebhook(config, req('/twilio/status', '', { 'x-twilio-signature': sig }), raw).ok).toBe(true);
  });

  it('refuses tampered params', () => {
    const sig = sign('https://weaver.example.com/twilio/voice');
    const tampered = new URLSearchParams({ ...params, From: '+15559999999' }).toString();
    expect(checkWebhook(config, req('/twilio/voice', '', { 'x-twilio-signature': sig }), tampered)).toEqual({ ok: false, reason: 'invalid X-Twilio-Signature' });
    const extra = body + '&Injected=1';
    expect(checkWebhook(config, req('/twilio/voice', '', { 'x-twilio-signature': sig }), extra).ok).toBe(false);
  });

  it('refuses a signature made for another URL: host, scheme, query or path', () => {
    for (const url of ['https://evil.example.com/twilio/voice', 'http://weaver.example.com/twilio/voice', 'https://weaver.example.com/twilio/voice?workflow=other']) {
      const v = checkWebhook(config, req('/twilio/voice', '', { 'x-twilio-signature': sign(url) }), body);
      expect(v.ok, url).toBe(false);
    }
    // A signature replayed on another path.
    const forStatus = sign('https://weaver.example.com/twilio/status');
    expect(checkWebhook(config, req('/twilio/voice', '', { 'x-twilio-signature': forStatus }), body).ok).toBe(false);
  });

  it('refuses a missing header, and one signed with another token', () => {
    expect(checkWebhook(config, req('/twilio/voice', ''), body)).toEqual({ ok: false, reason: 'missing X-Twilio-Signature' });
    const other = twilio.getExpectedTwilioSignature('another-token', 'https://weaver.example.com/twilio/voice', params);
    expect(checkWebhook(config, req('/twilio/voice', '', { 'x-twilio-signature': other }), body).ok).toBe(false);
  });

  it('validates JSON bodies signed with bodySHA256', () => {
    const json = JSON.stringify({ event: 'x' });
    const q = `bodySHA256=${twilio.getExpectedBodyHash(json)}`;
    const sig = twilio.getExpectedTwilioSignature(TOKEN, `https://weaver.example.com/hook?${q}`, {});
    expect(checkWebhook(config, req('/hook', q, { 'x-twilio-signature': sig }), json).ok).toBe(true);
    expect(checkWebhook(config, req('/hook', q, { 'x-twilio-signature': sig }), json.replace('x', 'y')).ok).toBe(false);
  });

  it('passes everything, unverified, when no token is configured', () => {
    expect(checkWebhook({}, req('/twilio/voice', ''), body)).toEqual({ ok: true, verified: false });
    expect(checkUpgrade({}, req('/twilio/media', ''))).toEqual({ ok: true, verified: false });
  });
});

describe('WebSocket upgrade signatures', () => {
  const up = (path: string, sig?: string) => checkUpgrade(config, { method: 'GET', url: path, query: '', headers: sig ? { 'x-twilio-signature': sig } : {} });

  it('accepts a signature over wss://PUBLIC_HOST/path with no params', () => {
    expect(up('/twilio/media', sign('wss://weaver.example.com/twilio/media', {})).ok).toBe(true);
    expect(up('/twilio/relay', sign('wss://weaver.example.com/twilio/relay', {})).ok).toBe(true);
  });

  it('refuses a media signature replayed on the relay path, https instead of wss, or none', () => {
    expect(up('/twilio/relay', sign('wss://weaver.example.com/twilio/media', {})).ok).toBe(false);
    expect(up('/twilio/media', sign('https://weaver.example.com/twilio/media', {})).ok).toBe(false);
    expect(up('/twilio/media')).toEqual({ ok: false, reason: 'missing X-Twilio-Signature' });
  });
});

describe('constant-time comparison and the API token', () => {
  it('compares strings of any length without throwing', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });

  it('keeps the engine API off without WEAVER_API_TOKEN, and checks the bearer otherwise', () => {
    expect(checkApiAuth({}, { authorization: 'Bearer anything' })).toMatchObject({ ok: false, status: '503 Service Unavailable' });
    const c = { WEAVER_API_TOKEN: 's3cret-token' };
    expect(checkApiAuth(c, {})).toMatchObject({ ok: false, status: '401 Unauthorized' });
    expect(checkApiAuth(c, { authorization: 'Basic czNjcmV0' })).toMatchObject({ ok: false, status: '401 Unauthorized' });
    expect(checkApiAuth(c, { authorization: 'Bearer s3cret-tokeN' })).toMatchObject({ ok: false, status: '403 Forbidden' });
    expect(checkApiAuth(c, { authorization: 'Bearer s3cret-token' })).toEqual({ ok: true });
  });

  it('warns at startup when requests are not verified', () => {
    expect(securityWarnings({}).join('\n')).toMatch(/requests are not verified/);
    expect(securityWarnings({ TWILIO_AUTH_TOKEN: TOKEN }).join('\n')).toMatch(/PUBLIC_HOST/);
    expect(securityWarnings({ TWILIO_AUTH_TOKEN: TOKEN, PUBLIC_HOST: 'h', WEAVER_API_TOKEN: 't' })).toEqual([]);
  });
});
