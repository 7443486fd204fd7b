// The voice webhook answers in the workflow's mode; relay TwiML carries the workflow's greeting,
// language, voices, interruption settings, <Language> elements and <Parameter>s.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { relayTwiml, relaySettings, connectTwiml, relayLanguage, relayLanguageCodes } from '../../engine/twilio/relay-twiml.ts';
import { parseWorkflow, loadWorkflows } from '../../engine/workflow.ts';
import { relayLanguageFor } from '../../engine/language/registry.ts';
import { parseRelayTwiml } from '../../bench/load/relay-sim.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const workflows = loadWorkflows(new URL('../../engine/workflows', import.meta.url).pathname);
const demoRelay = workflows.get('demo-relay')!;
const wf = (relay: Record<string, string | boolean | number>, extra: object = {}) => parseWorkflow({ id: 'w', mode: 'relay', voices: { 'en-US': 'en-US-Neural2-F' }, relay, ...extra }, 'test');
const attrsOf = (relay: Record<string, string | boolean | number>, extra: object = {}) => parseRelayTwiml(relayTwiml(wf(relay, extra), 'h.example')).attributes;
const languagesOf = (xml: string) => [...xml.matchAll(/<Language ([^>]*)\/>/g)].map((m) => m[1]);

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
    expect(attributes.reportInputDuringAgentSpeech).toBe('none');
    // One <Language> per voice, Cantonese under the code Twilio's own demo uses, with the per-language speechModel.
    const langs = languagesOf(xml);
    expect(langs).toHaveLength(Object.keys(demoRelay.voices).length);
    expect(langs.find((l) => l.includes('code="zh-HK"'))).toMatch(/voice="yue-HK-Standard-A".*speechModel="long"/);
    expect(xml).not.toContain('yue-HK"');
  });

  it('writes every attribute as Twilio documents it (camelCase), however the workflow spells it', () => {
    const xml = relayTwiml(wf({ speechtimeout: 800, IGNOREBACKCHANNEL: 'true', deepgramsmartformat: 'true', backgroundnoisereduction: 'on', elevenlabstextnormalization: 'off' }), 'h.example');
    expect(parseRelayTwiml(xml).attributes).toMatchObject({ speechTimeout: '800', ignoreBackchannel: 'true', deepgramSmartFormat: 'true', backgroundNoiseReduction: 'on', elevenlabsTextNormalization: 'off' });
    for (const lower of ['speechtimeout', 'ignorebackchannel', 'deepgramsmartformat', 'backgroundnoisereduction']) expect(xml).not.toContain(` ${lower}=`);
  });

  it.each(['none', 'dtmf', 'speech', 'any'])('writes reportInputDuringAgentSpeech="%s" (Twilio\'s values, not a boolean)', (v) => {
    expect(attrsOf({ reportInputDuringAgentSpeech: v }).reportInputDuringAgentSpeech).toBe(v);
  });

  it.each([
    [false, 'none'],
    ['false', 'none'],
    [true, 'any'],
    ['true', 'any'],
  ])('still loads the old boolean reportInputDuringAgentSpeech=%j as "%s", with a deprecation warning naming the file', (old, now) => {
    const warnings: string[] = [];
    const w = parseWorkflow({ id: 'w', mode: 'relay', relay: { reportinputduringagentspeech: old } }, 'workflows/w.json', (m) => warnings.push(m));
    expect(w.relay).toEqual({ reportInputDuringAgentSpeech: now });
    expect(parseRelayTwiml(relayTwiml(w, 'h.example')).attributes.reportInputDuringAgentSpeech).toBe(now);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^workflow workflows/w\\.json: relay\\["reportinputduringagentspeech"\\]: ${old} is deprecated.*none, dtmf, speech or any.*"${now}"`));
  });

  it('warns about nothing for a workflow in current form (the shipped demo-relay included)', () => {
    const warnings: string[] = [];
    parseWorkflow({ id: 'w', mode: 'relay', relay: { reportInputDuringAgentSpeech: 'speech', interruptible: true } }, 'test', (m) => warnings.push(m));
    loadWorkflows(new URL('../../engine/workflows', import.meta.url).pathname, (m) => warnings.push(m));
    expect(warnings).toEqual([]);
  });

  it('accepts and writes eotThreshold (0.5 to 0.9) and echoPromptFiltering (true or false)', () => {
    expect(attrsOf({ eotThreshold: 0.7, echoPromptFiltering: true })).toMatchObject({ eotThreshold: '0.7', echoPromptFiltering: 'true' });
    expect(attrsOf({ EOTTHRESHOLD: '0.5', echopromptfiltering: 'false' })).toMatchObject({ eotThreshold: '0.5', echoPromptFiltering: 'false' });
    expect(attrsOf({ eotThreshold: 0.9 }).eotThreshold).toBe('0.9');
  });

  it('names attributes as Twilio documents them and types their values, whatever the case in the workflow', () => {
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
    [{ reportInputDuringAgentSpeech: 'sometimes' }, /relay\.reportInputDuringAgentSpeech: must be none, dtmf, speech or any/],
    [{ reportInputDuringAgentSpeech: 1 }, /relay\.reportInputDuringAgentSpeech: must be none, dtmf, speech or any/],
    [{ eotThreshold: 0.3 }, /relay\.eotThreshold: must be a number from 0\.5 to 0\.9/],
    [{ eotThreshold: 1 }, /relay\.eotThreshold: must be a number from 0\.5 to 0\.9/],
    [{ eotThreshold: 'high' }, /relay\.eotThreshold: must be a number from 0\.5 to 0\.9/],
    [{ echoPromptFiltering: 'yes' }, /relay\.echoPromptFiltering: must be true or false/],
    [{ 'language.es-ES.accent': 'x' }, /<Language> has no attribute "accent"/],
    [{ 'language.es-ES': 'x' }, /must be language\.<code>\.<attribute>/],
    [{ 'language.zh-HK.code': 'Cantonese please' }, /must be a language code such as zh-HK/],
    [{ 'parameter.big': 'x'.repeat(600) }, /under 500/],
  ])('refuses relay settings Twilio would not accept, naming the file and key: %j', (relay, why) => {
    expect(() => relaySettings(wf(relay))).toThrow(why);
    expect(() => wf(relay)).toThrow(/^invalid workflow test: relay\./);
  });

  it('lets a workflow choose the ConversationRelay code per locale (relay["language.<locale>.code"])', () => {
    const voices = { 'en-US': 'en-US-Neural2-F', 'zh-HK': 'yue-HK-Standard-A' };
    // Default: the registry's code for Cantonese.
    const plain = wf({}, { language: 'zh-HK', voices });
    expect(parseRelayTwiml(relayTwiml(plain, 'h.example')).attributes.language).toBe('zh-HK');
    // Overridden: the main language, the <Language> element and the mid-call language message all follow.
    const own = wf({ 'language.zh-HK.code': 'yue-HK', 'language.zh-HK.speechModel': 'long' }, { language: 'zh-HK', voices });
    const xml = relayTwiml(own, 'h.example');
    expect(parseRelayTwiml(xml).attributes.language).toBe('yue-HK');
    expect(languagesOf(xml)).toEqual(['code="en-US" voice="en-US-Neural2-F"', 'code="yue-HK" voice="yue-HK-Standard-A" speechModel="long"']);
    expect(relayLanguageCodes(own)).toEqual({ 'zh-HK': 'yue-HK' });
    expect(relayLanguage(own, 'yue')).toBe('yue-HK');
    expect(relayLanguageFor('zh-HK', relayLanguageCodes(own))).toBe('yue-HK');
    expect(relayLanguage(own, 'en-US')).toBe('en-US');
    // A locale spelled another way in the key still names the same <Language>.
    const alias = relayTwiml(wf({ 'language.yue.code': 'yue-HK' }, { voices }), 'h.example');
    expect(languagesOf(alias)).toEqual(['code="en-US" voice="en-US-Neural2-F"', 'code="yue-HK" voice="yue-HK-Standard-A"']);
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
