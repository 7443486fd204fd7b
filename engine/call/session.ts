// One Media Streams call: an actor that owns all of the call's state. Socket messages come in
// through onMessage(); frames go to the DSP shard and back through the turn detector (plain
// loops: 50 frames a second per call), and from the detector's events on it is one RxJS pipeline:
//   turn end → STT → cache | LLM → sentences → TTS → media + marks
// A new caller turn switches to a new answer (answerEach); a barge-in cuts the running answer
// (takeUntil), whose teardown aborts every provider request through its AbortSignal.
import { Subject, Observable, merge, from, of, defer, concat, EMPTY } from 'rxjs';
import { filter, map, concatMap, mergeMap, takeUntil, tap, finalize, catchError } from 'rxjs/operators';
import type { ChatMessage, LlmProvider, SttProvider, SttStream, TtsProvider } from '../../adapters/kit/types.ts';
import type { Config } from '../config.ts';
import type { Workflow } from '../workflow.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { DspChannel, DspFrame } from '../../workers/types.ts';
import type { DspShards } from '../../workers/shards.ts';
import { parseInbound, mediaMessage, markMessage, clearMessage, type InboundMessage, type ProtocolErrorKind } from '../twilio/media-protocol.ts';
import { TurnDetector, type TurnEvent } from './turn-detector.ts';
import { Playout } from './playout.ts';
import { SentenceChunker } from './sentence-chunker.ts';
import { newTurn, type TurnRecord } from './turn-record.ts';
import type { AnswerCache } from './answer-cache.ts';
import { Dialogue, lookupAnswer, learnAnswer, recordTurn, dtmfText, answerEach, initialLanguage } from './dialogue.ts';
import { workflowLine } from '../language/prompts.ts';
import { CallBoundary } from './boundary.ts';

/** What the session needs from the socket; the server adapts uWebSockets.js to it. */
export interface MediaSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Runs `fn` with the socket corked, so its sends leave in one write (optional). */
  cork?(fn: () => void): void;
}

/** What a workflow brings to a call: its definition and its provider chains. */
export interface CallSetup {
  workflow: Workflow;
  stt: SttProvider;
  llm: LlmProvider;
  tts: TtsProvider;
}

export interface SessionDeps {
  config: Config;
  /** Twilio names the workflow in start.customParameters; unknown or missing → the default. */
  resolve(workflowId: string | undefined): CallSetup;
  dsp: DspShards;
  metrics: Metrics;
  log: Logger;
  cache?: AnswerCache;
  /** Voice for a locale (the language registry); falls back to the workflow's voices. */
  voiceFor?: (locale: string, ttsProvider: string) => string | undefined;
}

export type CallState = 'connecting' | 'listening' | 'user' | 'thinking' | 'speaking' | 'ended';

type MediaErrorKind = ProtocolErrorKind | 'wrong_order' | 'wrong_stream' | 'bad_language' | 'duplicate_stream';

type UserInput = { kind: 'speech'; speechEnd: number; lastVoiceAt: number } | { kind: 'dtmf'; digit: string; at: number };

/** A piece of the agent's answer on its way to the caller. */
type Piece = { kind: 'audio'; audio: Uint8Array } | { kind: 'sentence-end'; text: string };

/** Consecutive bad messages after which the stream is closed instead of ignored. */
const MAX_CONSECUTIVE_ERRORS = 50;
/** Largest outbound media message: 200 ms of audio. */
const OUT_CHUNK = 1600;

export class CallSession {
  state: CallState = 'connecting';
  streamSid = '';
  callSid = '';
  readonly turns: TurnRecord[] = [];
  readonly startedAt = performance.now();
  readonly errors: Partial<Record<MediaErrorKind, number>> = {};
  /** Every completed turn record; metrics and the dashboard subscribe. */
  readonly turnDone$ = new Subject<TurnRecord>();
  readonly started$ = new Subject<void>();
  readonly ended$ = new Subject<string>();

  private log: Logger;
  /** Contains this call's failures to this call. */
  readonly boundary: CallBoundary;
  private setup!: CallSetup;
  private dialogue!: Dialogue;

  private dspChannel?: DspChannel;
  private sttStream?: SttStream;
  /** Turn detector output; frames themselves stay out of RxJS (50 per second per call). */
  private readonly turnEvents$ = new Subject<TurnEvent>();
  private readonly dtmf$ = new Subject<string>();
  private readonly interrupt$ = new Subject<void>();
  private readonly playout = new Playout();
  private readonly detector: TurnDetector;
  private consecutiveErrors = 0;
  private turnIndex = 0;
  /** The answer now being sent or played: its history slot and sentences by mark. */
  private current?: { historyIndex: number; sentences: Array<{ mark: string; text: string }>; turn: TurnRecord };
  private hangupAfterPlayout = false;
  /** A caller turn is being transcribed: a pending hang-up waits to hear whether it said anything. */
  private callerTurnOpen = false;

  constructor(
    private readonly socket: MediaSocket,
    private readonly deps: SessionDeps,
  ) {
    this.log = deps.log.child({ component: 'call' });
    this.boundary = new CallBoundary((err, where) => {
      this.deps.metrics.errors.inc({ kind: 'call_exception' });
      this.log.error({ err, where }, 'call failed: ending it (other calls are untouched)');
      this.end('error', 1011, 'internal error');
    });
    this.detector = new TurnDetector({ minSpeechMs: deps.config.TURN_MIN_SPEECH_MS, endSilenceMs: deps.config.TURN_END_SILENCE_MS });
  }

  /** The conversation so far (system prompt, caller turns, what the caller heard of the agent). */
  get history(): readonly ChatMessage[] {
    return this.dialogue?.history ?? [];
  }

  // ------------------------------------------------------------------ socket input

  onMessage(data: ArrayBuffer | string, isBinary: boolean): void {
    if (this.state === 'ended') return;
    const r = parseInbound(data, isBinary, this.deps.config.MAX_MESSAGE_BYTES);
    if (!r.ok) return this.reject(r.error.kind, r.error.message);
    const msg = r.msg;
    if (msg.event !== 'connected' && msg.event !== 'start' && this.state === 'connecting') return this.reject('wrong_order', `${msg.event} before start`);
    if ('streamSid' in msg && msg.event !== 'start' && msg.streamSid !== this.streamSid) return this.reject('wrong_stream', `streamSid ${msg.streamSid} is not this stream's`);
    this.consecutiveErrors = 0;
    this.handle(msg);
  }

  /** An exception escaped while handling this call: end it, and only it. */
  fail(err: unknown, where: string): void {
    this.boundary.fail(err, where);
  }

  private reject(kind: MediaErrorKind, message: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    this.deps.metrics.protocolErrors.inc({ transport: 'media', kind });
    this.log.warn({ kind, streamSid: this.streamSid || undefined }, `rejected message: ${message}`);
    if (++this.consecutiveErrors >= MAX_CONSECUTIVE_ERRORS) this.end('protocol', 1008, `${MAX_CONSECUTIVE_ERRORS} invalid messages in a row`);
  }

  private handle(msg: InboundMessage): void {
    switch (msg.event) {
      case 'connected':
        return;
      case 'start':
        if (this.state !== 'connecting') return this.reject('wrong_order', 'second start on one stream');
        return this.start(msg);
      case 'media':
        if (msg.media.track === 'outbound') return; // a fork of both tracks: that one is the agent, not the caller
        this.deps.metrics.framesIn.inc();
        this.dspChannel!.push(msg.media.payload);
        return;
      case 'dtmf':
        this.log.info({ digit: msg.dtmf.digit }, 'dtmf');
        // A key press is a new caller turn: stop the agent's playback first, as a spoken barge-in does.
        if (this.agentActive()) this.bargeIn();
        this.dtmf$.next(msg.dtmf.digit);
        return;
      case 'mark':
        if (!this.playout.onMark(msg.mark.name)) this.log.debug({ mark: msg.mark.name }, 'mark we did not send (or already cleared)');
        return;
      case 'stop':
        return this.end('stop', 1000, 'stream stopped by Twilio');
    }
  }

  // ------------------------------------------------------------------ lifecycle

  private start(msg: Extract<InboundMessage, { event: 'start' }>): void {
    const { config } = this.deps;
    const params = msg.start.customParameters;
    // Streams, not calls, own DSP state: Twilio may run a <Start><Stream> fork beside the
    // <Connect><Stream> of one call (one bidirectional stream per call, up to four one-way forks),
    // so two sockets can carry one callSid. Only a reused streamSid is refused.
    if (this.deps.dsp.shardOf(msg.streamSid) >= 0) {
      this.reject('duplicate_stream', `stream ${msg.streamSid} is already open on another socket`);
      return this.end('protocol', 1008, 'duplicate streamSid');
    }
    this.setup = this.deps.resolve(params.workflow);
    const { workflow, stt, llm, tts } = this.setup;
    this.streamSid = msg.streamSid;
    this.callSid = msg.start.callSid;
    this.log = this.log.child({ callSid: this.callSid, streamSid: this.streamSid });
    if (params.workflow && params.workflow !== workflow.id) this.log.warn({ asked: params.workflow, using: workflow.id }, 'unknown workflow: using the default');
    const lang = initialLanguage(params.language, workflow);
    if (lang.rejected !== undefined) this.reject('bad_language', `unknown language ${JSON.stringify(lang.rejected).slice(0, 40)}: using the workflow's ${lang.locale}`);
    this.dialogue = new Dialogue({ workflow, callId: this.callSid, parameters: params, language: lang.locale, ttsName: tts.name, config, voiceFor: this.deps.voiceFor });
    this.dspChannel = this.deps.dsp.open(this.streamSid, this.boundary.wrap('dsp frames', (frames: DspFrame[]) => this.onFrames(frames)));
    const sessionSignal = new AbortController();
    this.ended$.subscribe(() => sessionSignal.abort());
    this.sttStream = stt.open(this.dialogue.ctx, sessionSignal.signal);
    this.state = 'listening';
    this.log.info({ workflow: workflow.id, language: this.dialogue.language, stt: stt.name, llm: llm.name, tts: tts.name }, 'call started');
    this.wire();
    this.started$.next();
    this.started$.complete();
    this.greet();
  }

  /** The socket closed under us: end without writing to it. */
  closed(code: number, reason: string): void {
    this.end(code === 1000 || code === 1005 ? 'hangup' : 'socket-closed', code, reason, true);
  }

  /** Ends the call: aborts everything in flight and closes the socket (unless it is already gone). */
  end(outcome: string, code = 1000, reason = 'call ended', socketGone = false): void {
    if (this.state === 'ended') return;
    const wasStarted = this.state !== 'connecting';
    this.state = 'ended';
    this.interrupt$.next();
    this.ended$.next(outcome);
    this.ended$.complete();
    this.turnEvents$.complete();
    this.dtmf$.complete();
    this.dspChannel?.close();
    this.sttStream?.close();
    this.log.info({ outcome, reason, turns: this.turns.length, durationMs: Math.round(performance.now() - this.startedAt), errors: this.errors }, 'call ended');
    if (wasStarted) this.deps.metrics.callsTotal.inc({ mode: 'media', outcome });
    if (!socketGone) this.socket.close(code, reason);
  }

  // ------------------------------------------------------------------ the pipeline

  /** The per-frame hot path, kept imperative: lag metric, STT feed, endpointing. */
  private onFrames(frames: DspFrame[]): void {
    if (this.state === 'ended') return;
    for (const f of frames) {
      this.deps.metrics.frameLagMs.observe(f.doneAt - f.arrivedAt);
      this.sttStream!.push(f.pcm, f.speech);
      const e = this.detector.push(f.speech, f.doneAt);
      // "Still speaking" matters only for a barge-in: forward it just when it could be one.
      if (e && (e.type !== 'voiced' || (e.voicedMs >= this.deps.config.BARGE_IN_MIN_SPEECH_MS && this.agentActive()))) this.turnEvents$.next(e);
    }
  }

  private wire(): void {
    const { config } = this.deps;
    const turnEvents$ = this.turnEvents$;

    const b = this.boundary;
    turnEvents$.pipe(filter((e) => e.type === 'start')).subscribe({
      next: b.wrap('turn start', () => {
        if (this.state === 'listening') this.state = 'user';
      }),
      error: b.errorHandler('turn start'),
    });

    const bargeIn$ = turnEvents$.pipe(filter((e) => config.BARGE_IN_ENABLED && e.type === 'voiced' && this.agentActive()));
    bargeIn$.subscribe({ next: b.wrap('barge-in', () => this.bargeIn()), error: b.errorHandler('barge-in') });

    const inputs$: Observable<UserInput> = merge(
      turnEvents$.pipe(
        filter((e): e is Extract<TurnEvent, { type: 'end' }> => e.type === 'end'),
        map((e) => ({ kind: 'speech' as const, speechEnd: e.at, lastVoiceAt: e.lastVoiceAt })),
      ),
      this.dtmf$.pipe(map((digit) => ({ kind: 'dtmf' as const, digit, at: performance.now() }))),
    );

    inputs$.pipe(answerEach((input, signal) => this.turn$(input, signal), this.interrupt$)).subscribe({ error: b.errorHandler('turn pipeline') });
  }

  /** One caller turn: transcript → answer → audio to the caller. */
  private turn$(input: UserInput, signal: AbortSignal): Observable<Piece> {
    this.state = 'thinking';
    this.callerTurnOpen = true;
    const rec = newTurn(++this.turnIndex, input.kind === 'speech' ? input.speechEnd : input.at, input.kind === 'speech' ? input.lastVoiceAt : input.at);
    const text$: Observable<string> =
      input.kind === 'dtmf'
        ? of(dtmfText(this.setup.workflow, input.digit))
        : defer(() => this.sttStream!.endTurn(signal)).pipe(
            map((r) => {
              rec.sttFinal = performance.now();
              rec.providerWaitMs += rec.sttFinal - rec.speechEnd;
              if (r.language) rec.sttLanguage = r.language;
              return r.text.trim();
            }),
          );
    return text$.pipe(
      concatMap((text) => {
        this.callerTurnOpen = false;
        if (text === '') {
          this.log.debug({ turn: rec.index }, 'empty transcript: nothing to answer');
          if (this.state === 'thinking') this.state = this.playout.playing ? 'speaking' : 'listening';
          this.boundary.settle('hang-up check', this.playout.drained().then(() => this.hangUpIfGoodbyeSaid())); // noise: a goodbye before it still ends the call
          return EMPTY;
        }
        this.hangupAfterPlayout = false; // the caller spoke again: a pending goodbye no longer ends the call
        rec.user = text;
        this.switchLanguageFor(text, rec);
        this.dialogue.push({ role: 'user', content: text });
        return this.answer$(text, rec, signal);
      }),
      tap((p) => this.emit(p, rec)),
      catchError((e) => {
        if (signal.aborted) return EMPTY;
        this.callerTurnOpen = false;
        this.hangupAfterPlayout = false; // the fallback line answers the caller: do not hang up on it
        this.deps.metrics.errors.inc({ kind: 'turn' });
        this.log.error({ err: e, turn: rec.index }, 'answer failed; speaking the fallback line');
        return this.speak$(workflowLine(this.setup.workflow, 'fallback', this.dialogue.language), rec, signal).pipe(tap((p) => this.emit(p, rec)));
      }),
      finalize(() => this.complete(rec)),
    );
  }

  private switchLanguageFor(text: string, rec: TurnRecord): void {
    const r = this.dialogue.observe(text, rec.sttLanguage);
    if (!r.switched) return;
    rec.languageSwitch = `${r.from}→${r.to}`;
    this.log.info({ from: r.from, to: r.to, reason: r.reason }, 'language switched');
  }

  /** Cache hit → cached audio (or TTS of the cached text); miss → LLM → sentences → TTS. */
  private answer$(text: string, rec: TurnRecord, signal: AbortSignal): Observable<Piece> {
    const cache = this.deps.cache;
    return defer(() => lookupAnswer(cache, this.dialogue.cacheKey(), text, this.log)).pipe(
      concatMap((hit) => {
        if (hit) {
          rec.responseStart = performance.now();
          rec.source = hit.tier === 'exact' ? 'cache-exact' : 'cache-semantic';
          rec.answer = hit.text;
          if (hit.audio) {
            rec.ttsFirstByte = rec.responseStart;
            return from<Piece[]>([{ kind: 'audio', audio: hit.audio }, { kind: 'sentence-end', text: hit.text }]);
          }
          const voice = this.dialogue.cacheKey().voice;
          return this.speak$(hit.text, rec, signal, (audio) => cache!.attachAudio(hit.entryId, voice, audio));
        }
        return this.generate$(rec, signal);
      }),
    );
  }

  private generate$(rec: TurnRecord, signal: AbortSignal): Observable<Piece> {
    const chunker = new SentenceChunker();
    const requestedAt = performance.now();
    let cacheable = true;
    let firstSentence = true;
    let answer = '';
    const audio: Uint8Array[] = [];
    rec.source = 'llm';
    const sentences$ = concat(
      from(this.setup.llm.stream({ ctx: { ...this.dialogue.ctx }, messages: [...this.dialogue.history], signal, state: 'faq' })).pipe(
        tap((chunk) => {
          if (rec.responseStart === undefined) rec.responseStart = performance.now();
          if (chunk.cacheable === false) cacheable = false;
          if (chunk.endCall) this.hangupAfterPlayout = true;
          answer += chunk.text;
          rec.answer = answer.trim(); // kept as it grows: a barge-in may cut the stream
        }),
        mergeMap((chunk) => chunker.push(chunk.text)),
      ),
      defer(() => chunker.flush()),
    ).pipe(
      tap(() => {
        if (firstSentence) rec.providerWaitMs += performance.now() - requestedAt;
        firstSentence = false;
      }),
    );
    return sentences$.pipe(
      concatMap((s) => this.tts$(s, rec, signal, audio)),
      tap({
        complete: () => {
          if (!signal.aborted) learnAnswer(this.deps.cache, this.dialogue.cacheKey(), rec.user ?? '', rec.answer ?? '', cacheable, this.log, Buffer.concat(audio));
        },
      }),
    );
  }

  /** Speaks fixed text (greeting, fallback, cached text without audio). */
  private speak$(text: string, rec: TurnRecord, signal: AbortSignal, onAudio?: (audio: Uint8Array) => void): Observable<Piece> {
    rec.answer = text;
    const chunker = new SentenceChunker();
    const audio: Uint8Array[] = [];
    return from([...chunker.push(text), ...chunker.flush()]).pipe(
      concatMap((s) => this.tts$(s, rec, signal, audio)),
      tap({ complete: () => !signal.aborted && onAudio?.(Buffer.concat(audio)) }),
    );
  }

  /** One sentence through TTS: its audio pieces, then its end (which gets a mark). */
  private tts$(sentence: string, rec: TurnRecord, signal: AbortSignal, collect: Uint8Array[]): Observable<Piece> {
    return defer(() => {
      const requestedAt = performance.now();
      let first = true;
      return concat(
        from(this.setup.tts.synthesize({ ctx: { ...this.dialogue.ctx }, text: sentence, voice: this.dialogue.voice(), language: this.dialogue.language, signal })).pipe(
          filter((a) => a.length > 0),
          tap((a) => {
            collect.push(a);
            if (first && rec.ttsFirstByte === undefined) {
              rec.ttsFirstByte = performance.now();
              rec.providerWaitMs += rec.ttsFirstByte - requestedAt;
            }
            first = false;
          }),
          map((a): Piece => ({ kind: 'audio', audio: a })),
        ),
        of({ kind: 'sentence-end', text: sentence } as Piece),
      );
    });
  }

  // ------------------------------------------------------------------ output

  private emit(p: Piece, rec: TurnRecord): void {
    if (this.state === 'ended') return;
    if (!this.current || this.current.turn !== rec) {
      this.current = { historyIndex: this.dialogue.push({ role: 'assistant', content: '' }), sentences: [], turn: rec };
    }
    if (p.kind === 'audio') {
      const sendAll = () => {
        for (let o = 0; o < p.audio.length; o += OUT_CHUNK) this.socket.send(mediaMessage(this.streamSid, p.audio.subarray(o, o + OUT_CHUNK)));
      };
      if (this.socket.cork) this.socket.cork(sendAll);
      else sendAll();
      this.deps.metrics.framesOut.inc(Math.ceil(p.audio.length / OUT_CHUNK));
      if (rec.firstAudioSent === undefined) rec.firstAudioSent = performance.now();
      rec.audioBytes += p.audio.length;
      rec.pendingBytes += p.audio.length;
      this.state = 'speaking';
      return;
    }
    const mark = this.playout.add(p.text, rec.pendingBytes, `t${rec.index}`);
    rec.pendingBytes = 0;
    this.socket.send(markMessage(this.streamSid, mark));
    this.current.sentences.push({ mark, text: p.text });
    const said = this.dialogue.history[this.current.historyIndex].content;
    this.dialogue.setContent(this.current.historyIndex, said ? `${said} ${p.text}` : p.text);
  }

  /** The agent is answering: thinking, or its audio is queued or playing at Twilio. */
  private agentActive(): boolean {
    return this.state === 'speaking' || this.state === 'thinking' || this.playout.playing;
  }

  /** The answer's last piece went out (or it was cut): record the turn, hang up if asked. */
  private complete(rec: TurnRecord): void {
    if (rec.user === undefined && rec.index > 0) return; // nothing was said: not a turn
    recordTurn(this.deps.metrics, rec, 'media');
    this.turns.push(rec);
    this.log.info({ turn: rec.index, source: rec.source, user: rec.user, latency: rec.latency, interrupted: rec.interrupted }, 'turn');
    this.turnDone$.next(rec);
    if (this.state === 'ended') return;
    this.boundary.settle(
      'playout drained',
      this.playout.drained().then(() => {
        if (this.state === 'speaking' && !this.playout.playing) this.state = 'listening';
        this.hangUpIfGoodbyeSaid();
      }),
    );
  }

  /**
   * Once playback has drained: ends the call if the agent said goodbye. A barge-in or a caller turn
   * with words resets that; a caller turn still being transcribed postpones it.
   */
  private hangUpIfGoodbyeSaid(): void {
    if (this.hangupAfterPlayout && !this.callerTurnOpen && this.state !== 'ended') this.end('agent-hangup', 1000, 'agent ended the call after playback');
  }

  /** The caller talks over the agent: stop Twilio's playback, cut the answer, keep what was heard. */
  private bargeIn(): void {
    if (this.state === 'ended') return;
    const cur = this.current;
    this.socket.send(clearMessage(this.streamSid));
    const { dropped, headMark, headHeard } = this.playout.clear();
    this.interrupt$.next();
    this.hangupAfterPlayout = false;
    this.deps.metrics.bargeIns.inc();
    if (cur) {
      const gone = new Set(dropped);
      const heard = cur.sentences.filter((s) => !gone.has(s.mark)).map((s) => s.text);
      if (headMark && cur.sentences.some((s) => s.mark === headMark) && headHeard) heard.push(headHeard);
      this.dialogue.setContent(cur.historyIndex, heard.join(' '));
      cur.turn.interrupted = true;
      cur.turn.heard = heard.join(' ');
      this.current = undefined;
    }
    this.state = 'user';
    this.log.info({ heard: cur?.turn.heard }, 'barge-in: cleared playback and aborted the answer');
  }

  private greet(): void {
    const rec = newTurn(0, performance.now(), performance.now());
    rec.source = 'greeting';
    const ac = new AbortController();
    this.speak$(workflowLine(this.setup.workflow, 'greeting', this.dialogue.language), rec, ac.signal)
      .pipe(
        tap((p) => this.emit(p, rec)),
        takeUntil(this.interrupt$),
        finalize(() => {
          this.complete(rec);
          ac.abort();
        }),
        catchError((e) => (this.log.error({ err: e }, 'greeting failed'), EMPTY)),
      )
      .subscribe({ error: this.boundary.errorHandler('greeting') });
  }
}
