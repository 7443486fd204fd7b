// POST /calls drives the real twilio-node client against a loopback fake of Twilio's REST API;
// the assertions are on the request the fake received.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { startFakeTwilioApi, type FakeTwilioApi } from '../support/fake-twilio-api.ts';
import { connectTwiml } from '../../engine/twilio/relay-twiml.ts';
import { TwilioOutbound, OutboundError } from '../../engine/twilio/outbound.ts';

const SID = 'AC' + 'a'.repeat(32);
const TOKEN = 'b'.repeat(32);
const HOST = 'weaver.example.com';
const API = 'weaver-api-token';
let fake: FakeTwilioApi;
let t: TestEngine;

beforeAll(async () => {
  fake = await startFakeTwilioApi({ accountSid: SID, credentials: { [SID]: TOKEN, SKkey: 'key-secret' } });
  t = await startTestEngine({
    PERFORMANCE_CACHE_ENABLED: false,
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_FROM_NUMBER: '+15550009999',
    TWILIO_API_BASE_URL: fake.url,
    PUBLIC_HOST: HOST,
    WEAVER_API_TOKEN: API,
  });
});
afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

const placeCall = (body: unknown, token = API) =>
  fetch(`${t.url}/calls`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }).then(async (r) => ({
    status: r.status,
    body: await r.json(),
  }));

describe('POST /calls', () => {
  it('places a relay-mode call with the workflow TwiML and a status callback', async () => {
    const n = fake.requests.length;
    const r = await placeCall({ to: '+15551230001', workflow: 'demo-relay', parameters: { campaign: 'recall' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: 'queued', workflow: 'demo-relay', mode: 'relay', to: '+15551230001', from: '+15550009999' });
    expect(r.body.callSid).toMatch(/^CA[0-9a-f]{32}$/);

    expect(fake.requests).toHaveLength(n + 1);
    const req = fake.requests[n];
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/2010-04-01/Accounts/${SID}/Calls.json`);
    expect(req.auth).toEqual({ user: SID, password: TOKEN });
    expect(req.headers['user-agent']).toMatch(/^twilio-node\//);
    expect(req.form.To).toEqual(['+15551230001']);
    expect(req.form.From).toEqual(['+15550009999']);
    expect(req.form.Twiml).toEqual([connectTwiml(t.engine.workflow('demo-relay')!, HOST, { campaign: 'recall' })]);
    expect(req.form.Twiml[0]).toContain(`<ConversationRelay url="wss://${HOST}/twilio/relay"`);
    expect(req.form.Twiml[0]).toContain('<Parameter name="campaign" value="recall"/>');
    expect(req.form.StatusCallback).toEqual([`https://${HOST}/twilio/status`]);
    expect(req.form.StatusCallbackEvent).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(req.form.StatusCallbackMethod).toEqual(['POST']);

    const view = await fetch(`${t.url}/calls/${r.body.callSid}`, { headers: { authorization: `Bearer ${API}` } }).then((x) => x.json());
    expect(view).toMatchObject({ callSid: r.body.callSid, mode: 'relay', workflow: 'demo-relay', direction: 'outbound-api', status: 'queued', to: '+15551230001' });
  });

  it('places a media-mode call with <Connect><Stream> and a ring timeout', async () => {
    const n = fake.requests.length;
    const r = await placeCall({ to: '+15551230002', workflow: 'demo', from: '+15550008888', timeout: 20 });
    expect(r.status).toBe(201);
    const req = fake.requests[n];
    expect(req.form.Twiml[0]).toContain(`<Stream url="wss://${HOST}/twilio/media"`);
    expect(req.form.From).toEqual(['+15550008888']);
    expect(req.form.Timeout).toEqual(['20']);
  });

  it("reports Twilio's refusal with its error code", async () => {
    fake.failNext(400, 21211, "The 'To' number +15005550001 is not a valid phone number.");
    const r = await placeCall({ to: '+15005550001' });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ twilioStatus: 400, twilioCode: 21211 });
    expect(r.body.error).toMatch(/not a valid phone number/);
  });

  it.each([
    ['not JSON', '{to:', 400],
    ['no number', { workflow: 'demo' }, 400],
    ['a malformed number', { to: '555-1234' }, 400],
    ['an unknown field', { to: '+15551230003', colour: 'red' }, 400],
    ['an unknown workflow', { to: '+15551230003', workflow: 'nope' }, 404],
  ])('refuses %s without calling Twilio', async (_name, body, status) => {
    const n = fake.requests.length;
    const r = await placeCall(body);
    expect(r.status).toBe(status);
    expect(typeof r.body.error).toBe('string');
    expect(fake.requests).toHaveLength(n);
  });

  it('needs the bearer token', async () => {
    const n = fake.requests.length;
    expect((await placeCall({ to: '+15551230004' }, 'nope')).status).toBe(403);
    expect(fake.requests).toHaveLength(n);
  });
});

describe('the twilio client wrapper', () => {
  it('authenticates with an API key pair when one is configured', async () => {
    const o = new TwilioOutbound({ TWILIO_ACCOUNT_SID: SID, TWILIO_API_KEY: 'SKkey', TWILIO_API_SECRET: 'key-secret', TWILIO_API_BASE_URL: fake.url });
    const call = await o.placeCall({ to: '+15551230005', from: '+15550009999', twiml: '<Response/>', statusCallback: `https://${HOST}/twilio/status` });
    expect(call.status).toBe('queued');
    expect(fake.requests.at(-1)!.auth).toEqual({ user: 'SKkey', password: 'key-secret' });
    expect(fake.requests.at(-1)!.path).toBe(`/2010-04-01/Accounts/${SID}/Calls.json`);
  });

  it('says what is missing, refuses oversized TwiML, and reports an unreachable API', async () => {
    await expect(new TwilioOutbound({}).placeCall({ to: '+1', from: '+1', twiml: '<Response/>', statusCallback: 'https://h/s' })).rejects.toThrow(/TWILIO_ACCOUNT_SID/);
    await expect(new TwilioOutbound({ TWILIO_ACCOUNT_SID: SID }).placeCall({ to: '+1', from: '+1', twiml: '<Response/>', statusCallback: 'https://h/s' })).rejects.toThrow(/TWILIO_AUTH_TOKEN/);
    const o = new TwilioOutbound({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_API_BASE_URL: fake.url });
    await expect(o.placeCall({ to: '+1', from: '+1', twiml: 'x'.repeat(4001), statusCallback: 'https://h/s' })).rejects.toMatchObject({ kind: 'bad_request' });
    const closed = new TwilioOutbound({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_API_BASE_URL: 'http://127.0.0.1:9' });
    const e = await closed.placeCall({ to: '+15551230006', from: '+15550009999', twiml: '<Response/>', statusCallback: 'https://h/s' }).catch((x) => x);
    expect(e).toBeInstanceOf(OutboundError);
    expect(e.kind).toBe('unreachable');
  });
});

describe('with no WEAVER_API_TOKEN', () => {
  it('keeps the API disabled with a clear 503', async () => {
    const off = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false });
    try {
      const r = await fetch(`${off.url}/calls`, { method: 'POST', body: '{"to":"+15551230007"}', headers: { authorization: 'Bearer anything' } });
      expect(r.status).toBe(503);
      expect((await r.json()).error).toMatch(/WEAVER_API_TOKEN/);
      expect((await fetch(`${off.url}/calls/CA1`)).status).toBe(503);
    } finally {
      await off.stop();
    }
  });
});
