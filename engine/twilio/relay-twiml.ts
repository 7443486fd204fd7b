// ConversationRelay TwiML (`<Connect><ConversationRelay>`), built with twilio-node's VoiceResponse.
// A relay-mode workflow describes it with data:
//   greeting          → welcomeGreeting
//   language          → language
//   voices[lang]      → voice (for the workflow's language) and one <Language code voice/> each
//   relay["<attr>"]   → any ConversationRelay attribute (interruptible, ttsProvider, partialPrompts…)
//   relay["language.<code>.<attr>"] → an attribute of that <Language> element
//   relay["parameter.<name>"]       → a <Parameter>, delivered in setup.customParameters
// Attribute names are matched case-insensitively and written as twilio-node types them.
import twilio from 'twilio';
import type VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import type { Workflow } from '../workflow.ts';
import { streamTwiml } from './twiml.ts';
import { getLocale } from '../language/registry.ts';

type RelayAttrs = VoiceResponse.ConversationRelayAttributes;
type LanguageAttrs = VoiceResponse.LanguageAttributes;

/** ConversationRelay attributes a workflow may set, by lower-case name (twilio-node 6.2 typings). */
const RELAY_ATTRS = new Map(
  [
    'backgroundnoisereduction',
    'debug',
    'deepgramsmartformat',
    'dtmfDetection',
    'elevenlabsTextNormalization',
    'events',
    'hints',
    'ignorebackchannel',
    'intelligenceService',
    'interruptSensitivity',
    'interruptible',
    'language',
    'partialPrompts',
    'preemptible',
    'profanityFilter',
    'reportInputDuringAgentSpeech',
    'speechModel',
    'speechtimeout',
    'transcriptionLanguage',
    'transcriptionProvider',
    'ttsLanguage',
    'ttsProvider',
    'voice',
    'welcomeGreetingInterruptible',
  ].map((n) => [n.toLowerCase(), n]),
);
/** Typed as booleans by twilio-node; the rest are strings. */
const BOOLEAN_ATTRS = new Set(['dtmfDetection', 'partialPrompts', 'preemptible', 'profanityFilter', 'reportInputDuringAgentSpeech']);
const LANGUAGE_ATTRS = new Map(['speechModel', 'transcriptionProvider', 'ttsProvider', 'voice'].map((n) => [n.toLowerCase(), n]));
const INTERRUPTIBLE = new Set(['none', 'dtmf', 'speech', 'any', 'true', 'false']);
/** Set by the engine, never by the workflow. */
const RESERVED = new Set(['url', 'welcomegreeting']);
/** Twilio's limit on a <Parameter>'s name plus value. */
const MAX_PARAMETER_CHARS = 500;

export interface RelaySettings {
  attributes: Record<string, string | boolean>;
  languages: Array<LanguageAttrs & { code: string }>;
  parameters: Record<string, string>;
}

/** Reads a workflow's relay settings; throws naming the key on anything Twilio would not accept. */
export function relaySettings(wf: Workflow): RelaySettings {
  const attributes: Record<string, string | boolean> = { language: twilioLanguage(wf.language) };
  const languages = new Map<string, LanguageAttrs & { code: string }>();
  const parameters: Record<string, string> = {};
  const fail = (key: string, why: string): never => {
    throw new Error(`workflow ${wf.id}: relay["${key}"]: ${why}`);
  };
  for (const [code, voice] of Object.entries(wf.voices)) languages.set(code, { code: twilioLanguage(code), voice });
  const mainVoice = wf.voices[wf.language] ?? wf.voices[wf.language.split('-')[0]];
  if (mainVoice) attributes.voice = mainVoice;

  for (const [key, value] of Object.entries(wf.relay)) {
    const parts = key.split('.');
    if (parts[0] === 'parameter' && parts.length >= 2) {
      const name = parts.slice(1).join('.');
      const v = String(value);
      if (name.length + v.length >= MAX_PARAMETER_CHARS) fail(key, `name and value must stay under ${MAX_PARAMETER_CHARS} characters`);
      parameters[name] = v;
      continue;
    }
    if (parts[0] === 'language' && parts.length === 3) {
      const attr = LANGUAGE_ATTRS.get(parts[2].toLowerCase()) ?? fail(key, `<Language> has no attribute "${parts[2]}" (have: ${[...LANGUAGE_ATTRS.values()].join(', ')})`);
      const el = languages.get(parts[1]) ?? { code: twilioLanguage(parts[1]) };
      (el as unknown as Record<string, string>)[attr] = String(value);
      languages.set(parts[1], el);
      continue;
    }
    if (RESERVED.has(key.toLowerCase())) fail(key, 'is set by the engine (url from PUBLIC_HOST, welcomeGreeting from the workflow greeting)');
    const attr = RELAY_ATTRS.get(key.toLowerCase()) ?? fail(key, `<ConversationRelay> has no attribute "${key}"`);
    if (BOOLEAN_ATTRS.has(attr)) {
      if (typeof value !== 'boolean' && value !== 'true' && value !== 'false') fail(key, 'must be true or false');
      attributes[attr] = value === true || value === 'true';
    } else {
      if ((attr === 'interruptible' || attr === 'welcomeGreetingInterruptible') && !INTERRUPTIBLE.has(String(value))) fail(key, 'must be none, dtmf, speech or any');
      attributes[attr] = String(value);
    }
  }
  return { attributes, languages: [...languages.values()], parameters };
}

/** The engine's locale (e.g. zh-HK) as ConversationRelay names it (yue-HK); unknown codes pass through. */
function twilioLanguage(code: string): string {
  return getLocale(code)?.relay ?? code;
}

export interface RelayTwimlOptions {
  /** Extra <Parameter>s (e.g. for an outbound call). */
  parameters?: Record<string, string>;
  /** <Connect action>: Twilio requests it when the session ends, with HandoffData. */
  action?: string;
}

/** `<Connect><ConversationRelay url="wss://host/twilio/relay" …>` for a relay-mode workflow. */
export function relayTwiml(wf: Workflow, host: string, opts: RelayTwimlOptions = {}): string {
  const s = relaySettings(wf);
  const vr = new twilio.twiml.VoiceResponse();
  const connect = vr.connect(opts.action ? { action: opts.action, method: 'POST' } : {});
  const attrs: RelayAttrs = { url: `wss://${host}/twilio/relay`, welcomeGreeting: wf.greeting, ...(s.attributes as RelayAttrs) };
  const relay = connect.conversationRelay(attrs);
  for (const l of s.languages) relay.language(l);
  relay.parameter({ name: 'workflow', value: wf.id });
  for (const [name, value] of Object.entries({ ...s.parameters, ...opts.parameters })) relay.parameter({ name, value });
  return vr.toString();
}

/**
 * The TwiML that connects a call to the engine in the workflow's mode: <Connect><Stream> for
 * media, <Connect><ConversationRelay> for relay (whose session end comes back to
 * /twilio/relay/action).
 */
export function connectTwiml(wf: Workflow, host: string, parameters: Record<string, string> = {}): string {
  if (wf.mode === 'relay') return relayTwiml(wf, host, { parameters, action: `https://${host}/twilio/relay/action` });
  return streamTwiml(wf, host, parameters);
}
