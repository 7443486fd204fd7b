// The ConversationRelay transport of a call (docs/architecture.md): Twilio does STT and TTS, so
// the socket carries text. Final prompts and digits become the core's inputs, partial prompts its
// interim input (speculation), `interrupt` its barge-in with what the caller heard. The core's
// answers go out as text tokens as they are produced; a cached answer as one last:true token.
import { Observable, defer } from 'rxjs';
import { map, tap, finalize } from 'rxjs/operators';
import type { LlmProvider } from '../../adapters/kit/types.ts';
import type { Workflow } from '../workflow.ts';
import { relayLanguage } from '../twilio/relay-twiml.ts';
import { parseRelayInbound, textMessage, playMessage, sendDigitsMessage, languageMessage, endMessage, type RelayInbound, type RelaySetup, type RelayErrorKind, type PlayOptions } from '../twilio/relay-protocol.ts';
import type { CallCoreDeps } from './call-core.ts';
import { CallTransport } from './call-transport.ts';
import type { Utterance } from './io.ts';
import type { TurnRecord } from './turn-record.ts';
import { callStarting } from '../providers/call-start.ts';

export interface RelaySocket {
  send(text: string): void;
  close(code: number, reason: string): void;
}

export interface RelayCallSetup {
  workflow: Workflow;
  llm: LlmProvider;
  /** Name of the workflow's TTS chain: the cache key's voice is named after it in both modes. */
  ttsName: string;
}

export interface RelayCallDeps extends CallCoreDeps {
  /** Twilio names the workflow in setup.customParameters; unknown or missing → the default. */
  resolve(workflowId: string | undefined): RelayCallSetup;
}

type RelayCallErrorKind = RelayErrorKind | 'wrong_order' | 'bad_language' | 'remote';

/** Twilio closes the socket itself after `end`; this is how long we wait before closing it. */
const END_CLOSE_GRACE_MS = 5000;
/** Longest wait for a goodbye to be spoken before ending. */
const MAX_GOODBYE_WAIT_MS = 15_000;

export class RelayCall extends CallTransport<RelayCallErrorKind> {
  readonly mode = 'relay' as const;
  readonly speaksGreeting = false; // Twilio speaks the TwiML's welcomeGreeting
  readonly joiner = ''; // tokens carry their own spaces
  sessionId = '';
  setupInfo?: RelaySetup;

  private workflow?: Workflow;
  private endTimer?: ReturnType<typeof setTimeout>;
  /** Relay sends no playback events: when Twilio's TTS should be done, from what was sent. */
  private speakingUntil = 0;

  constructor(
    private readonly socket: RelaySocket,
    private readonly deps: RelayCallDeps,
  ) {
    super(deps, 'relay-call');
  }

  protected transportName() {
    return 'relay' as const;
  }

  get speculation() {
    return this.core.speculation;
  }

  onMessage(data: ArrayBuffer | string, isBinary: boolean): void {
    if (this.core.state === 'ended') return;
    const msg = this.guard.accept(parseRelayInbound(data, isBinary, this.deps.config.MAX_MESSAGE_BYTES));
    if (!msg) return;
    if (this.core.state === 'connecting' && msg.type !== 'setup' && msg.type !== 'error' && msg.type !== 'info') return this.guard.reject('wrong_order', `${msg.type} before setup`);
    if (msg.type === 'setup' && this.core.state !== 'connecting') return this.guard.reject('wrong_order', 'second setup on one session');
    this.guard.passed();
    this.handle(msg);
  }

  /** The socket went away (either side): stop timers and everything in flight. */
  closed(code: number, reason: string): void {
    this.clearEndTimer();
    super.closed(code, reason);
  }

  end(outcome: string, code = 1000, reason = 'call ended'): void {
    if (this.core.state === 'ended') {
      if (this.endTimer) this.closeNow(code, reason); // an `end` was sent and Twilio has not closed yet: close now
      return;
    }
    this.core.end(outcome, code, reason);
  }

  private handle(msg: RelayInbound): void {
    switch (msg.type) {
      case 'setup':
        return this.start(msg);
      case 'prompt':
        if (!msg.last) return this.core.interim(msg.voicePrompt);
        return this.core.input({ kind: 'text', text: msg.voicePrompt, language: msg.lang || undefined, at: performance.now() });
      case 'dtmf':
        this.log.info({ digit: msg.digit }, 'dtmf');
        return this.core.input({ kind: 'dtmf', digit: msg.digit, at: performance.now() });
      case 'interrupt':
        this.log.info({ durationMs: msg.durationUntilInterruptMs }, 'interrupted by the caller');
        return this.core.bargeIn(msg.utteranceUntilInterrupt);
      case 'error':
        // Twilio reports a problem on its side (e.g. a message of ours it rejected).
        this.guard.errors.remote = (this.guard.errors.remote ?? 0) + 1;
        this.deps.metrics.errors.inc({ kind: 'relay_remote' });
        this.log.warn({ description: msg.description }, 'ConversationRelay reported an error');
        return;
      case 'info':
        this.log.debug({ info: msg.payload }, 'ConversationRelay info');
        return;
    }
  }

  private start(msg: RelaySetup): void {
    const params = msg.customParameters;
    const { workflow, llm, ttsName } = this.deps.resolve(params.workflow);
    this.workflow = workflow;
    this.setupInfo = msg;
    this.sessionId = msg.sessionId;
    this.identify({ callSid: msg.callSid, sessionId: msg.sessionId || undefined });
    if (params.workflow && params.workflow !== workflow.id) this.log.warn({ asked: params.workflow, using: workflow.id }, 'unknown workflow: using the default');
    if (workflow.mode !== 'relay') this.log.warn({ workflow: workflow.id, mode: workflow.mode }, 'a media-mode workflow on the relay socket: answering with its LLM anyway');
    const started = this.core.start({ callSid: msg.callSid, workflow, llm, ttsName, parameters: params, language: params.language });
    if (started.rejectedLanguage !== undefined) this.guard.reject('bad_language', `unknown language ${JSON.stringify(started.rejectedLanguage).slice(0, 40)}: using the workflow's ${this.core.language}`);
    callStarting([llm], this.core.dialogue!.ctx, this.log); // the LLM's connection warm before the first turn
    this.log.info({ workflow: workflow.id, language: this.core.language, llm: llm.name, from: msg.from || undefined, direction: msg.direction || undefined }, 'relay call started');
  }

  // ------------------------------------------------------------------ outbound controls

  /** Plays an audio URL to the caller. */
  play(source: string, opts: PlayOptions = {}): void {
    this.sendIfLive(playMessage(source, opts));
  }

  /** Sends DTMF tones on the call (e.g. to an IVR after a transfer). */
  sendDigits(digits: string): void {
    this.sendIfLive(sendDigitsMessage(digits));
  }

  /** Switches the conversation (prompt, cache partition) and Twilio's TTS and STT to a locale. */
  setLanguage(locale: string): void {
    this.core.setLanguage(locale);
  }

  /** Ends the session with data for the <Connect action> handler (e.g. a handoff to a person). */
  hangup(handoffData?: string | Record<string, unknown>, outcome = 'agent-hangup'): void {
    if (this.core.state === 'ended' || this.core.state === 'connecting') return;
    this.socket.send(endMessage(handoffData));
    this.core.end(outcome, 1000, 'session ended by the agent', true);
    // Twilio closes the socket after `end`; close it ourselves if it does not.
    this.endTimer = this.core.boundary.later('end grace', END_CLOSE_GRACE_MS, () => this.closeNow(1000, 'session ended by the agent'));
  }

  private closeNow(code: number, reason: string): void {
    this.clearEndTimer();
    this.socket.close(code, reason);
  }

  private clearEndTimer(): void {
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = undefined;
  }

  private sendIfLive(text: string): void {
    if (this.core.state !== 'ended') this.socket.send(text);
  }

  // ------------------------------------------------------------------ output (CallOutput)

  get playing(): boolean {
    return performance.now() < this.speakingUntil;
  }

  /** Resolves when Twilio should have spoken what was sent (relay has no playback events). */
  drained(): Promise<void> {
    const waitMs = Math.min(MAX_GOODBYE_WAIT_MS, Math.max(0, this.speakingUntil - performance.now()));
    return new Promise((resolve) => setTimeout(resolve, waitMs).unref?.());
  }

  languageChanged(locale: string): void {
    if (!this.workflow) return;
    const code = relayLanguage(this.workflow, locale);
    this.sendIfLive(languageMessage({ ttsLanguage: code, transcriptionLanguage: code }));
  }

  hangUp(): void {
    this.hangup({ reason: 'agent-goodbye', callSid: this.core.callSid, turns: this.core.turns.length });
  }

  shutdown(code: number, reason: string, socketGone: boolean): void {
    if (!socketGone) this.closeNow(code, reason);
  }

  /** Tokens as produced, spaces kept; the utterance ends with last:true (on its own if need be). */
  speak(u: Utterance): Observable<string> {
    return defer(() => {
      let sent = false;
      let lastSent = false;
      let failed = false;
      return u.pieces.pipe(
        map((p) => {
          this.sendText(p.text, p.final === true, u.turn);
          sent = true;
          if (p.final) lastSent = true;
          return p.text;
        }),
        tap({
          complete: () => {
            if (!lastSent) this.sendText('', true, u.turn);
            lastSent = true;
          },
          error: () => (failed = true), // the core says the fallback line, which ends the utterance
        }),
        // Cut by a newer prompt (not by an interrupt): close the utterance Twilio is speaking.
        finalize(() => {
          if (sent && !lastSent && !failed && !u.turn.interrupted) this.sendText('', true, u.turn);
        }),
      );
    });
  }

  /** The caller interrupted: Twilio already stopped speaking; it reports what was heard. */
  stop(): undefined {
    this.speakingUntil = 0;
    return undefined;
  }

  private sendText(token: string, last: boolean, rec: TurnRecord): void {
    if (this.core.state === 'ended') return;
    this.socket.send(textMessage(token, last));
    rec.firstAudioSent ??= performance.now(); // first token sent
    this.speakingUntil = Math.max(performance.now(), this.speakingUntil) + (token.length / this.deps.config.RELAY_SPEAKING_CHARS_PER_S) * 1000;
  }
}
