// The voice webhook answers in the workflow's mode; relay TwiML carries the workflow's greeting,
// language, voices, interruption settings, <Language> elements and <Parameter>s.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { relayTwiml, relaySettings, connectTwiml } from '../../engine/twilio/relay-twiml.ts';
import { parseWorkflow, loadWorkflows } from '../../engine/workflow.ts';
import { parseRelayTwiml } from '../../bench/load/relay-sim.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const workflows = loadWorkflows(new URL('../../engine/workflows', import.meta.url).pathname);
const demoRelay = workflows.get('demo-relay')!;
const wf = (relay: Record<string, string | boolean | number>, extra: object = {}) => parseWorkflow({ id: 'w', mode: 'relay', voices: { 'en-US': 'en-US-Neural2-F' }, relay, ...extra }, 'test');

describe('ConversationRelay TwiML', () => {
  it('ships demo-relay: same clinic and FAQ as demo, in relay mode', () => {
    const demo = workflows.get('demo')!;
    expect(demoRelay.mode).toBe('relay');
    expect(demo.mode).toBe('media');
    expect(demoRelay.faq).toEqual(demo.faq);
    expect(demoRelay.greeting).toBe(demo.greeting);
  });

  it('builds <Connect><ConversationRelay> from the workflow', () => {
    const xml = relayTwiml(demoRelay, 'weaver.example.com', { action: 'https://weaver.example.com/twilio/relay/action' });
    const { url, parameters, attributes } = parseRelayTwiml(xml);
    expect(xml).toMatch(/^<\?xml[^>]*\?><Response><Connect action="https:\/\/weaver\.example\.com\/twilio\/relay\/action" method="POST"><ConversationRelay /);
    expect(url).toBe('wss://weaver.example.com/twilio/relay');
    expect(attributes.welcomeGreeting).toBe(demoRelay.greeting);
    expect(attributes.language).toBe('en-US');
    expect(attributes.voice).toBe(demoRelay.voices['en-US']);
    expect(attributes.interruptible).toBe(String(demoRelay.relay.interruptible));
    expect(attributes.welcomeGreetingInterruptible).toBe(String(demoRelay.relay.welcomeGreetingInterruptible));
    expect(attributes.partialPrompts).toBe('true');
    expect(parameters.workflow).toBe('demo-relay');
    // One <Language> per voice, with Twilio's code for Cantonese and the per-language override.
    const langs = [...xml.matchAll(/<Language ([^>]*)\/>/g)].map((m) => m[1]);
    expect(langs).toHaveLength(Object.keys(demoRelay.voices).length);
    expect(langs.find((l) => l.includes('code="yue-HK"'))).toMatch(/voice="yue-HK-Standard-A".*speechModel="long"/);
  });

  it('names attributes as twilio-node types them, whatever the case in the workflow', () => {
    const s = relaySettings(wf({ TTSPROVIDER: 'ElevenLabs', dtmfdetection: 'true', interruptible: 'speech' }));
    expect(s.attributes).toMatchObject({ ttsProvider: 'ElevenLabs', dtmfDetection: true, interruptible: 'speech' });
  });

  it('adds <Parameter>s from the workflow and the caller, escaped', () => {
    const xml = relayTwiml(wf({ 'parameter.tenant': 'a&b' }), 'h.example', { parameters: { campaign: '"spring"' } });
    expect(parseRelayTwiml(xml).parameters).toEqual({ workflow: 'w', tenant: 'a&b', campaign: '"spring"' });
  });

  it.each([
    [{ colour: 'blue' }, /no attribute "colour"/],
    [{ url: 'wss://elsewhere' }, /set by the engine/],
    [{ welcomeGreeting: 'hi' }, /set by the engine/],
    [{ partialPrompts: 'yes' }, /true or false/],
    [{ interruptible: 'sometimes' }, /none, dtmf, speech or any/],
    [{ 'language.es-ES.accent': 'x' }, /<Language> has no attribute "accent"/],
    [{ 'parameter.big': 'x'.repeat(600) }, /under 500/],
  ])('refuses relay settings Twilio would not accept: %j', (relay, why) => {
    expect(() => relaySettings(wf(relay))).toThrow(why);
  });

  it('picks TwiML by mode', () => {
    expect(connectTwiml(workflows.get('demo')!, 'h.example')).toContain('<Connect><Stream url="wss://h.example/twilio/media"');
    expect(connectTwiml(demoRelay, 'h.example')).toContain('<ConversationRelay url="wss://h.example/twilio/relay"');
  });
});

describe('POST /twilio/voice', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false, PUBLIC_HOST: 'weaver.example.com' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const voice = (q: string) => fetch(`${t.url}/twilio/voice${q}`, { method: 'POST', body: new URLSearchParams({ CallSid: 'CA1' }) }).then(async (r) => ({ status: r.status, body: await r.text() }));

  it('answers relay TwiML for ?workflow=demo-relay and stream TwiML for demo', async () => {
    const relay = await voice('?workflow=demo-relay');
    expect(relay.status).toBe(200);
    expect(relay.body).toBe(relayTwiml(demoRelay, 'weaver.example.com', { action: 'https://weaver.example.com/twilio/relay/action' }));
    const media = await voice('?workflow=demo');
    expect(media.body).toContain('<Stream url="wss://weaver.example.com/twilio/media"');
  });
});
