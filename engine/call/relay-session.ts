// One ConversationRelay call: an actor like the Media Streams CallSession, but Twilio does STT
// and TTS, so the socket carries text. Inputs (final prompts, DTMF) become turns through one
// RxJS pipeline: a new input switches to a new answer (switchMap), an `interrupt` cuts the
// running one (takeUntil) and aborts its provider requests through the AbortSignal.
//   final prompt → cache hit: the cached text at once, as one last:true token
//                → miss: LLM tokens streamed to Twilio as produced, then an empty last:true
// Partial prompts (last:false) may start a speculative answer once stable: its cache lookup and
// LLM stream are buffered and adopted only if the final prompt says the same thing in the same
// context; otherwise they are aborted. Nothing speculative reaches the caller or the history.
import { Subject, ReplaySubject, Observable, concat, from, of, defer, EMPTY, timer, type Subscription } from 'rxjs';
import { map, switchMap, concatMap, tap, finalize, catchError, ignoreElements } from 'rxjs/operators';
import type { ChatMessage, LlmProvider } from '../../adapters/kit/types.ts';
import type { Config } from '../config.ts';
import type { Workflow } from '../workflow.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { AnswerCache, CacheHit } from './answer-cache.ts';
import { newTurn, type TurnRecord } from './turn-record.ts';
import { Dialogue, lookupAnswer, learnAnswer, recordTurn, dtmfText, answerEach, initialLanguage } from './dialogue.ts';
import { relayLanguageFor } from '../language/registry.ts';
import { CallBoundary } from './boundary.ts';
import { workflowLine } from '../language/prompts.ts';
import {
  parseRelayInbound,
  textMessage,
  playMessage,
  sendDigitsMessage,
  languageMessage,
  endMessage,
  type RelayInbound,
  type RelaySetup,
  type RelayErrorKind,
  type PlayOptions,
} from '../twilio/relay-protocol.ts';

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

export interface RelayDeps {
  config: Config;
  /** Twilio names the workflow in setup.customParameters; unknown or missing → the default. */
  resolve(workflowId: string | undefined): RelayCallSetup;
  metrics: Metrics;
  log: Logger;
  cache?: AnswerCache;
  voiceFor?: (locale: string, ttsProvider: string) => string | undefined;
}

export type RelayState = 'connecting' | 'listening' | 'thinking' | 'speaking' | 'ended';

type Input = { kind: 'prompt'; text: string; lang: string; at: number } | { kind: 'dtmf'; digit: string; at: number };

/** What an answer source yields: a cache hit, or LLM tokens. */
type AnswerEvent = { kind: 'hit'; hit: CacheHit } | { kind: 'token'; text: string; cacheable: boolean; endCall: boolean };

interface Speculation {
  key: string;
  text: string;
  ac: AbortController;
  events: ReplaySubject<AnswerEvent>;
  sub: Subscription;
  timing: { llmRequestedAt?: number };
}

/** Consecutive bad messages after which the socket is closed instead of ignored. */
const MAX_CONSECUTIVE_ERRORS = 50;
/** Twilio closes the socket itself after `end`; this is how long we wait before closing it. */
const END_CLOSE_GRACE_MS = 5000;
/** Longest wait for a goodbye to be spoken before ending. */
const MAX_GOODBYE_WAIT_MS = 15_000;

const normalise = (s: string) =>
  s
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

export class RelaySession {
  state: RelayState = 'connecting';
  callSid = '';
  sessionId = '';
  setupInfo?: RelaySetup;
  readonly turns: TurnRecord[] = [];
  readonly startedAt = performance.now();
  readonly errors: Partial<Record<RelayErrorKind | 'wrong_order' | 'remote' | 'bad_language', number>> = {};
  /** Speculative answers on partial prompts: started, adopted by the final prompt, thrown away. */
  readonly speculation = { started: 0, adopted: 0, discarded: 0 };
  outcome?: string;
  readonly turnDone$ = new Subject<TurnRecord>();
  readonly started$ = new Subject<void>();
  readonly ended$ = new Subject<string>();

  private log: Logger;
  /** Contains this call's failures to this call. */
  readonly boundary: CallBoundary;
  private setup!: RelayCallSetup;
  private dialogue?: Dialogue;
  private readonly inputs$ = new Subject<Input>();
  private readonly partials$ = new Subject<{ text: string; lang: string } | null>();
  private readonly interrupt$ = new Subject<void>();
  private consecutiveErrors = 0;
  private turnIndex = 0;
  private spec?: Speculation;
  /** The answer last sent: its history slot and turn, so an interrupt can cut it to what was heard. */
  private current?: { historyIndex: number; turn: TurnRecord };
  private endTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly socket: RelaySocket,
    private readonly deps: RelayDeps,
  ) {
    this.log = deps.log.child({ component: 'relay-call' });
    this.boundary = new CallBoundary((err, where) => {
      this.deps.metrics.errors.inc({ kind: 'call_exception' });
      this.log.error({ err, where }, 'relay call failed: ending it (other calls are untouched)');
      this.end('error', 1011, 'internal error');
    });
  }

  /** An exception escaped while handling this call: end it, and only it. */
  fail(err: unknown, where: string): void {
    this.boundary.fail(err, where);
  }

  /** The conversation so far (system prompt, greeting, turns), as the LLM sees it. */
  get history(): ChatMessage[] {
    return this.dialogue?.history ?? [];
  }

  get workflowId(): string | undefined {
    return this.setup?.workflow.id;
  }

  get language(): string | undefined {
    return this.dialogue?.language;
  }

  // ------------------------------------------------------------------ socket input

  onMessage(data: ArrayBuffer | string, isBinary: boolean): void {
    if (this.state === 'ended') return;
    const r = parseRelayInbound(data, isBinary, this.deps.config.MAX_MESSAGE_BYTES);
    if (!r.ok) return this.reject(r.error.kind, r.error.message);
    const msg = r.msg;
    if (this.state === 'connecting' && msg.type !== 'setup' && msg.type !== 'error' && msg.type !== 'info') return this.reject('wrong_order', `${msg.type} before setup`);
    if (msg.type === 'setup' && this.state !== 'connecting') return this.reject('wrong_order', 'second setup on one session');
    this.consecutiveErrors = 0;
    this.boundary.run(`${msg.type} message`, () => this.handle(msg));
  }

  private reject(kind: RelayErrorKind | 'wrong_order' | 'bad_language', message: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    this.deps.metrics.protocolErrors.inc({ transport: 'relay', kind });
    this.log.warn({ kind, callSid: this.callSid || undefined }, `rejected relay message: ${message}`);
    if (++this.consecutiveErrors >= MAX_CONSECUTIVE_ERRORS) this.end('protocol', 1008, `${MAX_CONSECUTIVE_ERRORS} invalid messages in a row`);
  }

  private handle(msg: RelayInbound): void {
    switch (msg.type) {
      case 'setup':
        return this.start(msg);
      case 'prompt':
        if (!msg.last) return this.partials$.next({ text: msg.voicePrompt, lang: msg.lang });
        this.partials$.next(null);
        return this.inputs$.next({ kind: 'prompt', text: msg.voicePrompt, lang: msg.lang, at: performance.now() });
      case 'dtmf':
        this.log.info({ digit: msg.digit }, 'dtmf');
        return this.inputs$.next({ kind: 'dtmf', digit: msg.digit, at: performance.now() });
      case 'interrupt':
        return this.onInterrupt(msg.utteranceUntilInterrupt, msg.durationUntilInterruptMs);
      case 'error':
        // Twilio reports a problem on its side (e.g. a message of ours it rejected).
        this.errors.remote = (this.errors.remote ?? 0) + 1;
        this.deps.metrics.errors.inc({ kind: 'relay_remote' });
        this.log.warn({ description: msg.description }, 'ConversationRelay reported an error');
        return;
      case 'info':
        this.log.debug({ info: msg.payload }, 'ConversationRelay info');
        return;
    }
  }

  // ------------------------------------------------------------------ lifecycle

  private start(msg: RelaySetup): void {
    const { config } = this.deps;
    const params = msg.customParameters;
    this.setup = this.deps.resolve(params.workflow);
    const { workflow, llm } = this.setup;
    this.setupInfo = msg;
    this.callSid = msg.callSid;
    this.sessionId = msg.sessionId;
    this.log = this.log.child({ callSid: this.callSid, sessionId: this.sessionId || undefined });
    if (params.workflow && params.workflow !== workflow.id) this.log.warn({ asked: params.workflow, using: workflow.id }, 'unknown workflow: using the default');
    if (workflow.mode !== 'relay') this.log.warn({ workflow: workflow.id, mode: workflow.mode }, 'a media-mode workflow on the relay socket: answering with its LLM anyway');
    const lang = initialLanguage(params.language, workflow);
    if (lang.rejected !== undefined) this.reject('bad_language', `unknown language ${JSON.stringify(lang.rejected).slice(0, 40)}: using the workflow's ${lang.locale}`);
    this.dialogue = new Dialogue({ workflow, callId: this.callSid, parameters: params, language: lang.locale, ttsName: this.setup.ttsName, config, voiceFor: this.deps.voiceFor });
    // Twilio speaks the welcomeGreeting from the TwiML itself; the model should know it was said.
    this.dialogue.push({ role: 'assistant', content: workflow.greeting });
    this.state = 'listening';
    this.log.info({ workflow: workflow.id, language: this.dialogue.language, llm: llm.name, from: msg.from || undefined, direction: msg.direction || undefined }, 'relay call started');
    this.wire();
    this.started$.next();
    this.started$.complete();
  }

  /** Ends the session: aborts everything in flight and closes the socket (unless it is gone). */
  end(outcome: string, code = 1000, reason = 'call ended', socketGone = false): void {
    if (this.state === 'ended') {
      if (!socketGone && this.endTimer) this.closeNow(code, reason); // an `end` was sent: close now
      return;
    }
    const wasStarted = this.state !== 'connecting';
    this.state = 'ended';
    this.outcome = outcome;
    this.interrupt$.next();
    this.dropSpeculation();
    this.partials$.complete();
    this.inputs$.complete();
    this.ended$.next(outcome);
    this.ended$.complete();
    this.log.info({ outcome, reason, turns: this.turns.length, durationMs: Math.round(performance.now() - this.startedAt), errors: this.errors, speculation: this.speculation }, 'relay call ended');
    if (wasStarted) this.deps.metrics.callsTotal.inc({ mode: 'relay', outcome });
    if (!socketGone) this.socket.close(code, reason);
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
    if (!this.dialogue) throw new Error('setLanguage before setup');
    this.dialogue.setLanguage(locale);
    const relay = relayLanguageFor(this.dialogue.language);
    this.sendIfLive(languageMessage({ ttsLanguage: relay, transcriptionLanguage: relay }));
  }

  /** Ends the session with data for the <Connect action> handler (e.g. a handoff to a person). */
  hangup(handoffData?: string | Record<string, unknown>, outcome = 'agent-hangup'): void {
    if (this.state === 'ended' || this.state === 'connecting') return;
    this.socket.send(endMessage(handoffData));
    this.end(outcome, 1000, 'session ended by the agent', true);
    // Twilio closes the socket after `end`; close it ourselves if it does not.
    this.endTimer = this.boundary.later('end grace', END_CLOSE_GRACE_MS, () => this.closeNow(1000, 'session ended by the agent'));
  }

  private closeNow(code: number, reason: string): void {
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = undefined;
    this.socket.close(code, reason);
  }

  /** The socket went away (either side): stop timers and everything in flight. */
  closed(code: number, reason: string): void {
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = undefined;
    this.end(code === 1000 || code === 1005 ? 'hangup' : 'socket-closed', code, reason, true);
  }

  private sendIfLive(text: string): void {
    if (this.state !== 'ended') this.socket.send(text);
  }

  // ------------------------------------------------------------------ the pipeline

  private wire(): void {
    const { config } = this.deps;
    // Speculate on a partial prompt once it has been stable for a moment; a final prompt (null)
    // cancels the pending timer.
    if (config.RELAY_SPECULATION) {
      this.partials$
        .pipe(switchMap((p) => (p === null ? EMPTY : timer(config.RELAY_SPECULATE_AFTER_MS).pipe(map(() => p)))))
        .subscribe({ next: this.boundary.wrap('speculation', (p: { text: string; lang: string }) => this.speculate(p.text)), error: this.boundary.errorHandler('speculation') });
    }

    this.inputs$.pipe(answerEach((input, signal) => this.turn$(input, signal), this.interrupt$)).subscribe({ error: this.boundary.errorHandler('turn pipeline') });
  }

  /** One caller turn: the final prompt (or a digit) → an answer streamed to Twilio. */
  private turn$(input: Input, signal: AbortSignal): Observable<never> {
    const d = this.dialogue!;
    const wf = this.setup.workflow;
    const text = (input.kind === 'dtmf' ? dtmfText(wf, input.digit) : input.text).trim();
    if (text === '') {
      this.dropSpeculation();
      return EMPTY;
    }
    // Prompt received: Twilio's STT is done, so speechEnd and the prompt's arrival coincide.
    const rec = newTurn(++this.turnIndex, input.at, input.at);
    rec.user = text;
    if (input.kind === 'prompt' && input.lang) rec.sttLanguage = input.lang;
    this.state = 'thinking';
    this.current = undefined; // the previous answer is over: an interrupt now concerns this one

    const obs = d.observe(text, rec.sttLanguage);
    if (obs.switched) {
      rec.languageSwitch = `${obs.from}→${obs.to}`;
      const relay = relayLanguageFor(obs.to);
      this.socket.send(languageMessage({ ttsLanguage: relay, transcriptionLanguage: relay }));
      this.log.info({ from: obs.from, to: obs.to, reason: obs.reason }, 'language switched');
    }

    const key = this.specKey(text);
    const spec = input.kind === 'prompt' ? this.adoptSpeculation(key) : undefined;
    if (!spec) this.dropSpeculation();
    const cacheKey = d.cacheKey();
    d.push({ role: 'user', content: text });
    const timing = spec?.timing ?? {};
    let source$: Observable<AnswerEvent>;
    if (spec) {
      signal.addEventListener('abort', () => spec.ac.abort(), { once: true });
      source$ = spec.events.asObservable().pipe(finalize(() => spec.sub.unsubscribe()));
    } else {
      source$ = this.source$(text, [...d.history], signal, timing);
    }

    let answer = '';
    let cacheable = true;
    let endCall = false;
    let lastSent = false;
    let fromLlm = false;
    const send = (token: string, last: boolean) => {
      if (this.state === 'ended') return;
      this.socket.send(textMessage(token, last));
      if (rec.firstAudioSent === undefined) rec.firstAudioSent = performance.now(); // first token sent
      if (last) lastSent = true;
    };
    const first = () => {
      if (rec.responseStart !== undefined) return;
      rec.responseStart = performance.now();
      this.state = 'speaking';
      this.current = { historyIndex: d.push({ role: 'assistant', content: '' }), turn: rec };
    };

    const answer$ = source$.pipe(
      tap((ev) => {
        first();
        if (ev.kind === 'hit') {
          rec.source = ev.hit.tier === 'exact' ? 'cache-exact' : 'cache-semantic';
          answer = ev.hit.text;
          send(answer, true);
        } else {
          if (!fromLlm) {
            fromLlm = true;
            rec.source = 'llm';
            // Provider wait on the critical path: from the later of the prompt and the request.
            rec.providerWaitMs += Math.max(0, rec.responseStart! - Math.max(rec.speechEnd, timing.llmRequestedAt ?? rec.speechEnd));
          }
          if (!ev.cacheable) cacheable = false;
          if (ev.endCall) endCall = true;
          if (ev.text === '') return;
          answer += ev.text;
          send(ev.text, false); // as produced, spaces kept
        }
        d.setContent(this.current!.historyIndex, answer);
      }),
      tap({
        complete: () => {
          if (!lastSent) send('', true);
          rec.answer = answer.trim();
          if (fromLlm && !signal.aborted) learnAnswer(this.deps.cache, cacheKey, text, rec.answer, cacheable, this.log);
        },
      }),
      ignoreElements(),
      catchError((e) => {
        if (signal.aborted || this.state === 'ended') return EMPTY;
        this.deps.metrics.errors.inc({ kind: 'turn' });
        this.log.error({ err: e, turn: rec.index }, 'answer failed; saying the fallback line');
        first();
        // Whatever was already streamed stays said; the fallback line completes the utterance.
        const sep = answer ? ' ' : '';
        const fallback = workflowLine(wf, 'fallback', d.language);
        answer = `${answer}${sep}${fallback}`;
        d.setContent(this.current!.historyIndex, answer);
        send(`${sep}${fallback}`, true);
        rec.answer = answer.trim();
        endCall = false;
        return EMPTY;
      }),
      finalize(() => {
        // Cut by a newer prompt (not by an interrupt): close the utterance Twilio is speaking.
        if (rec.firstAudioSent !== undefined && !lastSent && !rec.interrupted) send('', true);
        this.complete(rec);
      }),
    );
    // The agent said goodbye: end once Twilio has had time to speak it (relay has no playback
    // events). An interrupt or a new prompt before then cancels the hang-up.
    const goodbye$ = defer(() => {
      if (!endCall || signal.aborted || this.state === 'ended') return EMPTY;
      const waitMs = Math.min(MAX_GOODBYE_WAIT_MS, (answer.length / this.deps.config.RELAY_SPEAKING_CHARS_PER_S) * 1000);
      return timer(waitMs).pipe(
        tap(() => this.hangup({ reason: 'agent-goodbye', callSid: this.callSid, turns: this.turns.length })),
        ignoreElements(),
      );
    });
    return concat(answer$, goodbye$);
  }

  /** Cache first, then the LLM; cold, so a speculation can buffer it and a turn can run it. */
  private source$(text: string, messages: ChatMessage[], signal: AbortSignal, timing: { llmRequestedAt?: number }): Observable<AnswerEvent> {
    const d = this.dialogue!;
    const key = d.cacheKey();
    const ctx = { ...d.ctx, parameters: { ...d.ctx.parameters } };
    return defer(() => from(lookupAnswer(this.deps.cache, key, text, this.log))).pipe(
      concatMap((hit): Observable<AnswerEvent> => {
        if (hit) return of({ kind: 'hit', hit });
        return defer(() => {
          timing.llmRequestedAt = performance.now();
          return from(this.setup.llm.stream({ ctx, messages, signal, state: key.state }));
        }).pipe(map((c): AnswerEvent => ({ kind: 'token', text: c.text, cacheable: c.cacheable !== false, endCall: c.endCall === true })));
      }),
    );
  }

  // ------------------------------------------------------------------ speculation

  /** Same words, same language, same history: only then may a speculative answer be used. */
  private specKey(text: string): string {
    const d = this.dialogue!;
    return `${normalise(text)}\u0000${d.language}\u0000${d.version}`;
  }

  private speculate(text: string): void {
    if (this.state === 'ended' || !this.dialogue || normalise(text) === '') return;
    const key = this.specKey(text);
    if (this.spec?.key === key) return;
    this.dropSpeculation();
    const ac = new AbortController();
    const events = new ReplaySubject<AnswerEvent>();
    const timing: { llmRequestedAt?: number } = {};
    const messages = [...this.dialogue.history, { role: 'user' as const, content: text }];
    const sub = this.source$(text, messages, ac.signal, timing).subscribe({
      next: (e) => events.next(e),
      error: (e) => events.error(e),
      complete: () => events.complete(),
    });
    this.spec = { key, text, ac, events, sub, timing };
    this.speculation.started++;
    this.log.debug({ partial: text }, 'speculating on a partial prompt');
  }

  private adoptSpeculation(key: string): Speculation | undefined {
    const s = this.spec;
    if (!s || s.key !== key) return undefined;
    this.spec = undefined;
    this.speculation.adopted++;
    return s;
  }

  private dropSpeculation(): void {
    const s = this.spec;
    if (!s) return;
    this.spec = undefined;
    s.ac.abort();
    s.sub.unsubscribe();
    this.speculation.discarded++;
  }

  // ------------------------------------------------------------------ interruption and bookkeeping

  /** Twilio stopped speaking because the caller talked (or pressed a key) over the agent. */
  private onInterrupt(heard: string, durationMs: number): void {
    const cur = this.current;
    if (cur) {
      // Keep only what the caller heard as the assistant's turn (before the abort, so the
      // answer's teardown knows it was interrupted).
      this.dialogue!.setContent(cur.historyIndex, heard);
      cur.turn.interrupted = true;
      cur.turn.heard = heard;
      this.current = undefined;
    }
    this.interrupt$.next();
    this.deps.metrics.bargeIns.inc();
    if (this.state !== 'ended') this.state = 'listening';
    this.log.info({ heard, durationMs }, 'interrupted: answer aborted, history keeps what was heard');
  }

  private complete(rec: TurnRecord): void {
    recordTurn(this.deps.metrics, rec, 'relay');
    this.turns.push(rec);
    this.log.info({ turn: rec.index, source: rec.source, user: rec.user, latency: rec.latency, interrupted: rec.interrupted }, 'turn');
    this.turnDone$.next(rec);
    if (this.state === 'speaking' || this.state === 'thinking') this.state = 'listening';
  }
}
