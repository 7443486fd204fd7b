// ConversationRelay TwiML (`<Connect><ConversationRelay>`), built with twilio-node's VoiceResponse.
// A relay-mode workflow describes it with data:
//   greeting          → welcomeGreeting
//   language          → language
//   voices[lang]      → voice (for the workflow's language) and one <Language code voice/> each
//   relay["<attr>"]   → any ConversationRelay attribute (interruptible, ttsProvider, partialPrompts…)
//   relay["language.<locale>.<attr>"] → an attribute of that <Language> element; `code` replaces
//                                       the code Twilio is given for the locale
//   relay["parameter.<name>"]       → a <Parameter>, delivered in setup.customParameters
// engine/workflow.ts checks the relay settings when the workflow loads and spells every name as
// Twilio documents it (https://www.twilio.com/docs/voice/twiml/connect/conversationrelay), which
// is what is written here: twilio-node writes attribute names as given, and its 6.2 typings
// spell some in lower case (speechtimeout, ignorebackchannel…) and lack others (eotThreshold,
// echoPromptFiltering), hence the casts.
import twilio from 'twilio';
import type VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import type { Workflow } from '../workflow.ts';
import { streamTwiml } from './twiml.ts';
import { getLocale, relayLanguageFor } from '../language/registry.ts';

type RelayAttrs = VoiceResponse.ConversationRelayAttributes;
type LanguageAttrs = VoiceResponse.LanguageAttributes;

export interface RelaySettings {
  attributes: Record<string, string | boolean>;
  languages: Array<LanguageAttrs & { code: string }>;
  parameters: Record<string, string>;
}

/** The workflow's own ConversationRelay codes, by locale as written: relay["language.<locale>.code"]. */
export function relayLanguageCodes(wf: Workflow): Record<string, string> {
  const codes: Record<string, string> = {};
  for (const [key, value] of Object.entries(wf.relay)) {
    const m = /^language\.(.+)\.code$/.exec(key);
    if (m) codes[m[1]] = String(value);
  }
  return codes;
}

/** The code ConversationRelay is given for a workflow's locale; codes the registry does not know pass through. */
export function relayLanguage(wf: Workflow, code: string, codes = relayLanguageCodes(wf)): string {
  return codes[code] ?? (getLocale(code) ? relayLanguageFor(code, codes) : code);
}

/** A workflow's relay settings (already checked by parseWorkflow) as TwiML attributes and elements. */
export function relaySettings(wf: Workflow): RelaySettings {
  const codes = relayLanguageCodes(wf);
  const attributes: Record<string, string | boolean> = { language: relayLanguage(wf, wf.language, codes) };
  const languages = new Map<string, LanguageAttrs & { code: string }>();
  const parameters: Record<string, string> = {};
  // One <Language> per locale, however the workflow spells it ("zh-HK", "yue").
  const language = (code: string) => {
    const key = getLocale(code)?.code ?? code;
    let el = languages.get(key);
    if (!el) languages.set(key, (el = { code: relayLanguage(wf, code, codes) }));
    return el as unknown as Record<string, string>;
  };
  for (const [code, voice] of Object.entries(wf.voices)) language(code).voice = voice;
  const mainVoice = wf.voices[wf.language] ?? wf.voices[wf.language.split('-')[0]];
  if (mainVoice) attributes.voice = mainVoice;

  for (const [key, value] of Object.entries(wf.relay)) {
    const [head, ...rest] = key.split('.');
    if (head === 'parameter' && rest.length > 0) parameters[rest.join('.')] = String(value);
    else if (head === 'language' && rest.length === 2) {
      if (rest[1] !== 'code') language(rest[0])[rest[1]] = String(value);
    } else attributes[key] = value;
  }
  return { attributes, languages: [...languages.values()], parameters };
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
