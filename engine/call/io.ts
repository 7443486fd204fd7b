// What a call's core and its transport say to each other. The core (call-core.ts) owns the
// conversation and knows no wire format; a transport (media-call.ts, relay-call.ts) owns the
// socket and knows no turn logic. As in LiveKit agents' voice/io.ts: the core hands the
// transport an answer to speak and asks it to stop; the transport reports what the caller said
// and, on an interruption, what they heard.
import type { Observable } from 'rxjs';
import type { CallContext } from '../../adapters/kit/types.ts';
import type { TurnRecord } from './turn-record.ts';

/** A piece of an answer on its way out: LLM text as produced, or a whole cached answer. */
export interface AnswerPiece {
  text: string;
  /** The cached μ-law audio of `text`: a media transport plays it with no TTS. */
  audio?: Uint8Array;
  /** Nothing follows this piece in the utterance (a relay transport marks it last:true). */
  final?: boolean;
}

/** One answer (or fixed line) to speak. */
export interface Utterance {
  readonly turn: TurnRecord;
  readonly pieces: Observable<AnswerPiece>;
  /** Aborted when the answer is cut (barge-in, a newer turn, hang-up): stop every request. */
  readonly signal: AbortSignal;
  /** What provider requests for it carry (a snapshot: the language may change mid-call). */
  readonly ctx: CallContext;
  readonly language: string;
  readonly voice: string;
  /** Audio the transport synthesized for it, collected for the cache; stays empty for text transports. */
  readonly audio: Uint8Array[];
}

export interface CallOutput {
  readonly mode: 'media' | 'relay';
  /** The engine speaks the greeting (media), or Twilio already did from the TwiML (relay). */
  readonly speaksGreeting: boolean;
  /** Joins two stretches of said text in the history: sentences take a space, raw tokens carry their own. */
  readonly joiner: string;
  /** Speaks an utterance. Emits each stretch of text as it goes on the wire; completes when all has. */
  speak(u: Utterance): Observable<string>;
  /** The caller talked over the agent: stop playback now. Returns what was heard of the utterance, where the transport can tell. */
  stop(): string | undefined;
  /** Agent audio is queued or playing at Twilio. */
  readonly playing: boolean;
  /** Resolves once everything sent has played. */
  drained(): Promise<void>;
  /** The conversation moved to another language. */
  languageChanged(locale: string): void;
  /** Ends the call after the agent's goodbye has played. */
  hangUp(): void;
  /**
   * Synthesises a whole text in a voice and language as 8 kHz μ-law, sending nothing (answer
   * prediction, engine/call/prediction.ts). Only transports that synthesise audio have it.
   */
  presynthesize?(text: string, voice: string, language: string, signal: AbortSignal): Promise<Uint8Array>;
  /** The call is over: release the transport's resources and close the socket unless it is gone. */
  shutdown(code: number, reason: string, socketGone: boolean): void;
}

/** A caller turn, as a transport hands it to the core. */
export type CallerInput =
  /** Speech that ended (Media Streams): its transcript is still being produced. */
  | { kind: 'speech'; transcript: (signal: AbortSignal) => Promise<{ text: string; language?: string }>; speechEnd: number; lastVoiceAt: number }
  /** A final transcript (ConversationRelay prompt). */
  | { kind: 'text'; text: string; language?: string; at: number }
  | { kind: 'dtmf'; digit: string; at: number };

/** A live call as the socket layer (call-socket.ts) and the engine see it, whatever its transport. */
export interface LiveCall {
  readonly mode: 'media' | 'relay';
  readonly state: string;
  readonly callSid: string;
  /** One socket message, as received (the call parses and validates it). */
  onMessage(data: ArrayBuffer | string, isBinary: boolean): void;
  /** The socket closed under the call (Twilio hung up, or the connection dropped). */
  closed(code: number, reason: string): void;
  end(outcome: string, code?: number, reason?: string): void;
  /** An exception escaped while handling this call: end it (1011), log and count it, nothing else. */
  fail(err: unknown, where: string): void;
}
