// Twilio ConversationRelay wire format: validation of what Twilio sends, builders for what we
// send back. Parsing never throws: bad input becomes a typed error the session can log and
// count (Twilio itself drops a message that fails validation, 64107).
import { asText, readJsonFrame } from './json-frame.ts';

export interface RelaySetup {
  type: 'setup';
  sessionId: string;
  callSid: string;
  accountSid: string;
  parentCallSid: string;
  from: string;
  to: string;
  forwardedFrom: string;
  callType: string;
  callerName: string;
  direction: string;
  callStatus: string;
  customParameters: Record<string, string>;
}

export type RelayInbound =
  | RelaySetup
  /** `last:false` marks a partial transcript (partialPrompts="true"); the utterance so far. */
  | { type: 'prompt'; voicePrompt: string; lang: string; last: boolean }
  | { type: 'dtmf'; digit: string }
  | { type: 'interrupt'; utteranceUntilInterrupt: string; durationUntilInterruptMs: number }
  | { type: 'error'; description: string }
  /** Debug events when the TwiML asks for them (debug="…"); logged, never acted on. */
  | { type: 'info'; payload: Record<string, unknown> };

export type RelayErrorKind = 'not_json' | 'binary_frame' | 'oversized' | 'unknown_type' | 'missing_field' | 'bad_value';

export interface RelayProtocolError {
  kind: RelayErrorKind;
  message: string;
}

export type RelayParseResult = { ok: true; msg: RelayInbound } | { ok: false; error: RelayProtocolError };

const err = (kind: RelayErrorKind, message: string): RelayParseResult => ({ ok: false, error: { kind, message } });

const DIGIT = /^[0-9*#A-D]$/;
const text = asText;

export function parseRelayInbound(data: ArrayBuffer | string, isBinary: boolean, maxBytes: number): RelayParseResult {
  const frame = readJsonFrame(data, isBinary, maxBytes);
  if (!frame.ok) return err(frame.kind, frame.message);
  const m = frame.value;
  switch (m.type) {
    case 'setup': {
      if (typeof m.callSid !== 'string' || m.callSid === '') return err('missing_field', 'setup needs callSid');
      if (m.customParameters !== undefined && (typeof m.customParameters !== 'object' || m.customParameters === null || Array.isArray(m.customParameters)))
        return err('bad_value', 'setup.customParameters must be an object');
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries((m.customParameters as Record<string, unknown>) ?? {})) params[k] = text(v);
      return {
        ok: true,
        msg: {
          type: 'setup',
          sessionId: text(m.sessionId),
          callSid: m.callSid,
          accountSid: text(m.accountSid),
          parentCallSid: text(m.parentCallSid),
          from: text(m.from),
          to: text(m.to),
          forwardedFrom: text(m.forwardedFrom),
          callType: text(m.callType),
          callerName: text(m.callerName),
          direction: text(m.direction),
          callStatus: text(m.callStatus),
          customParameters: params,
        },
      };
    }
    case 'prompt': {
      if (typeof m.voicePrompt !== 'string') return err('missing_field', 'prompt needs voicePrompt (a string)');
      if (m.last !== undefined && typeof m.last !== 'boolean') return err('bad_value', 'prompt.last must be a boolean');
      // Without partialPrompts Twilio sends only final prompts; a missing `last` means final.
      return { ok: true, msg: { type: 'prompt', voicePrompt: m.voicePrompt, lang: text(m.lang), last: m.last !== false } };
    }
    case 'dtmf':
      if (typeof m.digit !== 'string' || m.digit === '') return err('missing_field', 'dtmf needs digit');
      if (!DIGIT.test(m.digit)) return err('bad_value', `invalid dtmf digit ${JSON.stringify(m.digit).slice(0, 20)}`);
      return { ok: true, msg: { type: 'dtmf', digit: m.digit } };
    case 'interrupt': {
      if (typeof m.utteranceUntilInterrupt !== 'string') return err('missing_field', 'interrupt needs utteranceUntilInterrupt');
      // Twilio documents a number but has been seen sending it as a string.
      const d = typeof m.durationUntilInterruptMs === 'string' ? Number(m.durationUntilInterruptMs) : m.durationUntilInterruptMs;
      if (d !== undefined && (typeof d !== 'number' || !Number.isFinite(d) || d < 0)) return err('bad_value', 'interrupt.durationUntilInterruptMs must be a non-negative number');
      return { ok: true, msg: { type: 'interrupt', utteranceUntilInterrupt: m.utteranceUntilInterrupt, durationUntilInterruptMs: (d as number | undefined) ?? 0 } };
    }
    case 'error':
      return { ok: true, msg: { type: 'error', description: text(m.description) || '(no description)' } };
    case 'info':
      return { ok: true, msg: { type: 'info', payload: m } };
    default:
      return err(m.type === undefined ? 'missing_field' : 'unknown_type', m.type === undefined ? 'message has no type' : `unknown type ${JSON.stringify(asText(m.type)).slice(0, 40)}`);
  }
}

// ---- outbound

export interface TextOptions {
  /** TTS language for this token (BCP-47). */
  lang?: string;
  interruptible?: boolean;
  preemptible?: boolean;
}

/** A piece of the answer for Twilio's TTS. Tokens are sent as produced: never trimmed. */
export function textMessage(token: string, last: boolean, opts: TextOptions = {}): string {
  return JSON.stringify({ type: 'text', token, last, ...opts });
}

export interface PlayOptions {
  loop?: number;
  preemptible?: boolean;
  interruptible?: boolean;
}

/** Plays an audio file from a URL Twilio can fetch. */
export function playMessage(source: string, opts: PlayOptions = {}): string {
  if (!/^https?:\/\//i.test(source)) throw new Error(`play source must be an http(s) URL, got ${JSON.stringify(source).slice(0, 60)}`);
  if (opts.loop !== undefined && !(Number.isInteger(opts.loop) && opts.loop >= 0)) throw new Error(`play loop must be a non-negative integer, got ${opts.loop}`);
  return JSON.stringify({ type: 'play', source, ...opts });
}

/** Sends DTMF tones on the call (0-9, w = half-second pause, #, *). */
export function sendDigitsMessage(digits: string): string {
  if (!/^[0-9w#*]+$/.test(digits)) throw new Error(`sendDigits accepts 0-9, w, # and * only, got ${JSON.stringify(digits).slice(0, 40)}`);
  return JSON.stringify({ type: 'sendDigits', digits });
}

/** Moves Twilio's TTS and/or STT to another language mid-call. */
export function languageMessage(opts: { ttsLanguage?: string; transcriptionLanguage?: string }): string {
  if (!opts.ttsLanguage && !opts.transcriptionLanguage) throw new Error('language message needs ttsLanguage or transcriptionLanguage');
  const m: Record<string, string> = { type: 'language' };
  if (opts.ttsLanguage) m.ttsLanguage = opts.ttsLanguage;
  if (opts.transcriptionLanguage) m.transcriptionLanguage = opts.transcriptionLanguage;
  return JSON.stringify(m);
}

/**
 * Ends the session; Twilio then requests the <Connect action> URL with `HandoffData`. Objects
 * are sent as JSON text, since Twilio passes handoffData on as a string.
 */
export function endMessage(handoffData?: string | Record<string, unknown>): string {
  if (handoffData === undefined) return JSON.stringify({ type: 'end' });
  return JSON.stringify({ type: 'end', handoffData: typeof handoffData === 'string' ? handoffData : JSON.stringify(handoffData) });
}
