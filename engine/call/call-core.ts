// The life of one call, whatever its transport (docs/architecture.md). One CallCore per call
// owns the conversation; its transport (media-call.ts or relay-call.ts) feeds it caller input
// and implements CallOutput (io.ts). Every caller input becomes a turn through one RxJS pipeline:
//   input → (transcript) → language → cache | LLM → pieces → output.speak → history + turn record
// A newer input switches to a new answer (switchMap); an interruption cuts the running one
// (takeUntil); either way the answer's AbortSignal aborts every provider request it started.
// Interim input (relay partial prompts, interim STT) may start a speculative answer, adopted only
// if the final input says the same thing in the same context; nothing speculative reaches the
// caller or the history.
import { Subject, ReplaySubject, Observable, from, of, defer, EMPTY, timer, type Subscription } from 'rxjs';
import { map, switchMap, concatMap, tap, finalize, catchError, takeUntil, filter, ignoreElements } from 'rxjs/operators';
import type { ChatMessage, LlmProvider } from '../../adapters/kit/types.ts';
import type { Logger } from '../../adapters/kit/log.ts';
import type { Config } from '../config.ts';
import type { Workflow } from '../workflow.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { AnswerCache, CacheHit, CacheKey } from './answer-cache.ts';
import type { AnswerPiece, CallerInput, CallOutput, Utterance } from './io.ts';
import { newTurn, recordTurn, type TurnRecord } from './turn-record.ts';
import { routeOf, type Route } from '../providers/route.ts';
import { Dialogue, initialLanguage } from './dialogue.ts';
import { CallBoundary } from './boundary.ts';
import { workflowLine } from '../language/prompts.ts';
import type { CallPredictions, Predictor } from './prediction.ts';

export type CallState = 'connecting' | 'listening' | 'user' | 'thinking' | 'speaking' | 'ended';

export interface CallCoreDeps {
  config: Config;
  metrics: Metrics;
  log: Logger;
  cache?: AnswerCache;
  /** Voice for a locale and TTS chain, when the workflow names none. */
  voiceFor?: (locale: string, ttsProvider: string) => string | undefined;
  /** The workflow's fallback line, synthesised at startup: heard even when every TTS is down. */
  apology?: (workflowId: string, locale: string) => Uint8Array | undefined;
  /** Synthesises the likely next answer in the background (prediction.ts); engine-wide. */
  predictor?: Predictor;
}

export interface CallStart {
  callSid: string;
  workflow: Workflow;
  llm: LlmProvider;
  /** Name of the TTS chain: the cache key's voice is named after it in both modes. */
  ttsName: string;
  parameters: Record<string, string>;
  /** The `language` parameter, if any; unknown or blank falls back to the workflow's. */
  language?: string;
}

/** What an answer source yields: a cache hit, or LLM tokens. */
type AnswerEvent = { kind: 'hit'; hit: CacheHit } | { kind: 'token'; text: string; cacheable: boolean; endCall: boolean };

/** When an answer's LLM request started, and where its route goes (the turn's, once it has one). */
interface AnswerTiming {
  llmRequestedAt?: number;
  routes: Route[];
}

interface Speculation {
  key: string;
  /** The interim words it answers, normalised. */
  words: string;
  ac: AbortController;
  events: ReplaySubject<AnswerEvent>;
  sub: Subscription;
  timing: AnswerTiming;
}

const specNormalise = (s: string) =>
  s
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

export class CallCore {
  state: CallState = 'connecting';
  callSid = '';
  outcome?: string;
  readonly turns: TurnRecord[] = [];
  readonly startedAt = performance.now();
  /** Speculative answers on interim input: started, adopted by the final input, thrown away. */
  readonly speculation = { started: 0, adopted: 0, discarded: 0 };
  /** Every completed turn record; metrics and the dashboard subscribe. */
  readonly turnDone$ = new Subject<TurnRecord>();
  readonly started$ = new Subject<void>();
  readonly ended$ = new Subject<string>();
  /** Contains this call's failures to this call. */
  readonly boundary: CallBoundary;
  log: Logger;
  dialogue?: Dialogue;

  private workflow!: Workflow;
  private llm!: LlmProvider;
  private readonly inputs$ = new Subject<CallerInput>();
  private readonly interim$ = new Subject<string | null>();
  private readonly interrupt$ = new Subject<void>();
  private turnIndex = 0;
  private spec?: Speculation;
  /** Speculations dropped since the last caller input (the next turn's outcome is "wasted" if none is adopted). */
  private specDropped = 0;
  /** The answer last said: its history slot and turn, so an interruption can cut it to what was heard. */
  private current?: { historyIndex: number; turn: TurnRecord };
  /** The history slot of each turn that has said something. */
  private readonly slots = new WeakMap<TurnRecord, number>();
  private hangupAfterPlayout = false;
  /** What this call's answers predict (prediction.ts), and how many turns were answered. */
  private readonly predictions?: CallPredictions;
  private answered = 0;
  /** A caller turn is being transcribed: a pending hang-up waits to hear whether it said anything. */
  private callerTurnOpen = false;

  constructor(
    private readonly output: CallOutput,
    private readonly deps: CallCoreDeps,
  ) {
    this.log = deps.log;
    this.predictions = deps.predictor?.forCall(deps.cache, deps.log);
    this.boundary = new CallBoundary((err, where) => {
      deps.metrics.errors.inc({ kind: 'call_exception' });
      this.log.error({ err, where }, 'call failed: ending it (other calls are untouched)');
      this.end('error', 1011, 'internal error');
    });
  }

  /** The conversation so far (system prompt, caller turns, what the caller heard of the agent). */
  get history(): ChatMessage[] {
    return this.dialogue?.history ?? [];
  }

  get language(): string | undefined {
    return this.dialogue?.language;
  }

  get workflowId(): string | undefined {
    return this.workflow?.id;
  }

  /** The agent is answering: thinking, or its audio is queued or playing. */
  get agentActive(): boolean {
    return this.state === 'speaking' || this.state === 'thinking' || this.output.playing;
  }

  // ------------------------------------------------------------------ inputs

  /** Starts the conversation. Returns the `language` parameter if it was refused. */
  start(s: CallStart): { rejectedLanguage?: string } {
    const { config } = this.deps;
    this.workflow = s.workflow;
    this.llm = s.llm;
    this.callSid = s.callSid;
    const lang = initialLanguage(s.language, s.workflow);
    this.dialogue = new Dialogue({ workflow: s.workflow, callId: s.callSid, parameters: s.parameters, language: lang.locale, ttsName: s.ttsName, config, voiceFor: this.deps.voiceFor });
    this.state = 'listening';
    this.wire();
    this.started$.next();
    this.started$.complete();
    if (this.output.speaksGreeting) this.greet();
    else this.dialogue.push({ role: 'assistant', content: s.workflow.greeting }); // the model should know it was said
    return { rejectedLanguage: lang.rejected };
  }

  /** A caller turn (speech that ended, a final transcript, a key press). */
  input(i: CallerInput): void {
    if (this.state === 'ended' || this.state === 'connecting') return;
    this.interim$.next(null); // a final input cancels a pending speculation timer
    this.inputs$.next(i);
  }

  /** An interim transcript: may start a speculative answer once it has been stable a moment. */
  interim(text: string): void {
    if (this.state !== 'ended' && this.state !== 'connecting') this.interim$.next(text);
  }

  /** The caller started speaking (a turn is open). */
  userSpeaking(): void {
    if (this.state === 'listening') this.state = 'user';
  }

  /**
   * The caller talked over the agent: stop the output, cut the answer to what was heard (from the
   * transport's report, else from the output), and abort it.
   */
  bargeIn(heard?: string): void {
    if (this.state === 'ended') return;
    const cur = this.current;
    const h = this.output.stop() ?? heard ?? '';
    this.hangupAfterPlayout = false;
    if (cur) {
      // Before the abort, so the answer's teardown knows it was interrupted.
      this.dialogue!.setContent(cur.historyIndex, h);
      cur.turn.interrupted = true;
      cur.turn.heard = h;
      this.current = undefined;
    }
    this.interrupt$.next();
    this.deps.metrics.bargeIns.inc();
    this.state = 'listening';
    this.log.info({ heard: cur ? h : undefined }, 'barge-in: output stopped, answer aborted, history keeps what was heard');
  }

  /** Sets the language outright (an operator or the workflow decided). */
  setLanguage(locale: string): void {
    if (!this.dialogue) throw new Error('setLanguage before the call started');
    this.dialogue.setLanguage(locale);
    this.output.languageChanged(this.dialogue.language);
  }

  /** Ends the call: aborts everything in flight, then the transport closes (unless the socket is gone). */
  end(outcome: string, code = 1000, reason = 'call ended', socketGone = false): void {
    if (this.state === 'ended') return;
    const wasStarted = this.state !== 'connecting';
    this.state = 'ended';
    this.outcome = outcome;
    this.interrupt$.next();
    this.dropSpeculation();
    this.predictions?.end();
    this.interim$.complete();
    this.inputs$.complete();
    this.ended$.next(outcome);
    this.ended$.complete();
    this.log.info({ outcome, reason, turns: this.turns.length, durationMs: Math.round(performance.now() - this.startedAt), speculation: this.speculation }, 'call ended');
    if (wasStarted) this.deps.metrics.callsTotal.inc({ mode: this.output.mode, outcome });
    this.output.shutdown(code, reason, socketGone);
  }

  // ------------------------------------------------------------------ the pipeline

  private wire(): void {
    const { config } = this.deps;
    const b = this.boundary;
    if (config.RELAY_SPECULATION) {
      this.interim$
        .pipe(switchMap((t) => (t === null ? EMPTY : timer(config.RELAY_SPECULATE_AFTER_MS).pipe(map(() => t)))))
        .subscribe({ next: b.wrap('speculation', (t: string) => this.speculate(t)), error: b.errorHandler('speculation') });
    }
    this.inputs$
      .pipe(
        switchMap((input) =>
          defer(() => {
            const ac = new AbortController();
            return this.turn$(input, ac.signal).pipe(
              takeUntil(this.interrupt$),
              finalize(() => ac.abort()),
            );
          }),
        ),
      )
      .subscribe({ error: b.errorHandler('turn pipeline') });
  }

  /** One caller turn: its text → an answer said to the caller → the turn record. */
  private turn$(input: CallerInput, signal: AbortSignal): Observable<never> {
    if (input.kind === 'text' && input.text.trim() === '') {
      this.dropSpeculation();
      return EMPTY;
    }
    const d = this.dialogue!;
    this.state = 'thinking';
    this.callerTurnOpen = true;
    const rec = input.kind === 'speech' ? newTurn(++this.turnIndex, input.speechEnd, input.lastVoiceAt) : newTurn(++this.turnIndex, input.at, input.at);
    const text$: Observable<string> =
      input.kind === 'speech'
        ? defer(() => input.transcript(signal)).pipe(
            map((r) => {
              rec.sttFinal = performance.now();
              rec.providerWaitMs += rec.sttFinal - rec.speechEnd;
              if (r.language) rec.sttLanguage = r.language;
              const route = routeOf(r);
              if (route) rec.routes.push(route);
              return r.text.trim();
            }),
          )
        : of(input.kind === 'dtmf' ? dtmfText(this.workflow, input.digit) : input.text.trim());
    if (input.kind === 'text' && input.language) rec.sttLanguage = input.language;
    return text$.pipe(
      concatMap((text) => {
        this.callerTurnOpen = false;
        if (text === '') {
          this.log.debug({ turn: rec.index }, 'empty transcript: nothing to answer');
          if (this.state === 'thinking') this.state = this.output.playing ? 'speaking' : 'listening';
          this.boundary.settle('hang-up check', this.output.drained().then(() => this.hangUpIfGoodbyeSaid())); // noise: a goodbye before it still ends the call
          return EMPTY;
        }
        this.hangupAfterPlayout = false; // the caller spoke again: a pending goodbye no longer ends the call
        rec.user = text;
        this.current = undefined; // the previous answer is over: an interruption now concerns this one
        this.switchLanguageFor(text, rec);
        const pending = this.spec;
        const spec = input.kind !== 'dtmf' ? this.adoptSpeculation(this.specKey(text)) : undefined;
        // A running speculation on other words was contradicted; on the same words it was wasted (the language or the context moved on).
        rec.speculation = spec ? 'hit' : pending ? (pending.words === specNormalise(text) ? 'wasted' : 'contradicted') : this.specDropped > 0 ? 'wasted' : 'none';
        if (!spec) this.dropSpeculation();
        this.specDropped = 0;
        const key = d.cacheKey();
        d.push({ role: 'user', content: text });
        return this.answer$(text, rec, key, signal, spec);
      }),
      catchError((e) => {
        if (signal.aborted || this.state === 'ended') return EMPTY;
        this.callerTurnOpen = false;
        this.hangupAfterPlayout = false; // the fallback line answers the caller: do not hang up on it
        this.deps.metrics.errors.inc({ kind: 'turn' });
        this.log.error({ err: e, turn: rec.index }, 'answer failed; saying the fallback line');
        // Whatever was already said stays said; the fallback line completes the utterance.
        const said = this.current?.turn === rec ? d.history[this.current.historyIndex].content : '';
        const line = workflowLine(this.workflow, 'fallback', d.language);
        rec.answer = said ? `${said} ${line}` : line;
        rec.source = 'fallback';
        const audio = this.deps.apology?.(this.workflow.id, d.language);
        return this.say$(this.utterance(rec, of({ text: said ? ` ${line}` : line, audio, final: true }), signal)).pipe(
          tap({ complete: () => (this.hangupAfterPlayout = this.workflow.onAnswerFailure === 'hang-up') }),
          catchError((e2) => (this.log.error({ err: e2, turn: rec.index }, 'the fallback line failed too'), EMPTY)),
        );
      }),
      finalize(() => this.complete(rec)),
    );
  }

  private switchLanguageFor(text: string, rec: TurnRecord): void {
    const r = this.dialogue!.observe(text, rec.sttLanguage);
    if (!r.switched) return;
    rec.languageSwitch = `${r.from}→${r.to}`;
    this.output.languageChanged(r.to);
    this.log.info({ from: r.from, to: r.to, reason: r.reason }, 'language switched');
  }

  /** Cache hit → its text (and audio); miss → LLM tokens. Said, then learned by the cache. */
  private answer$(text: string, rec: TurnRecord, key: CacheKey, signal: AbortSignal, spec?: Speculation): Observable<never> {
    const d = this.dialogue!;
    let timing: AnswerTiming;
    let events$: Observable<AnswerEvent>;
    if (spec) {
      // The speculation's LLM route (if it got that far) is this turn's, and so is any it starts later.
      timing = spec.timing;
      rec.routes.push(...timing.routes);
      timing.routes = rec.routes;
      signal.addEventListener('abort', () => spec.ac.abort(), { once: true });
      events$ = spec.events.asObservable().pipe(finalize(() => spec.sub.unsubscribe()));
    } else {
      timing = { routes: rec.routes };
      events$ = this.source$(text, [...d.history], key, signal, timing);
    }
    let hit: CacheHit | undefined;
    let cacheable = true;
    let endCall = false;
    let answer = '';
    const pieces = events$.pipe(
      map((ev): AnswerPiece => {
        if (rec.responseStart === undefined) rec.responseStart = performance.now();
        if (ev.kind === 'hit') {
          hit = ev.hit;
          rec.source = hit.tier === 'exact' ? 'cache-exact' : 'cache-semantic';
          rec.answer = hit.text;
          return { text: hit.text, audio: hit.audio, final: true };
        }
        if (rec.source !== 'llm') {
          rec.source = 'llm';
          // Provider wait on the critical path: from the later of the transcript and the request.
          rec.providerWaitMs += Math.max(0, rec.responseStart - Math.max(rec.sttFinal ?? rec.speechEnd, timing.llmRequestedAt ?? rec.speechEnd));
        }
        if (!ev.cacheable) cacheable = false;
        if (ev.endCall) endCall = true;
        answer += ev.text;
        rec.answer = answer.trim(); // kept as it grows: an interruption may cut the stream
        return { text: ev.text };
      }),
      filter((p) => p.text !== '' || p.audio !== undefined),
    );
    const u = this.utterance(rec, pieces, signal);
    const ordinal = ++this.answered;
    return this.say$(u).pipe(
      tap({
        complete: () => {
          if (signal.aborted) return;
          if (endCall) this.hangupAfterPlayout = true;
          const audio = u.audio.length > 0 ? Buffer.concat(u.audio) : undefined;
          if (hit) {
            if (!hit.audio && audio) this.deps.cache?.attachAudio(hit.entryId, key.voice, audio);
            this.predict(ordinal, hit.entryId, key, { hit: true, audio: hit.audio !== undefined });
          } else this.learn(key, text, rec.answer ?? '', cacheable, audio, ordinal);
        },
      }),
    );
  }

  /** Cache first, then the LLM; cold, so a speculation can buffer it and a turn can run it. */
  private source$(text: string, messages: ChatMessage[], key: CacheKey, signal: AbortSignal, timing: AnswerTiming): Observable<AnswerEvent> {
    const d = this.dialogue!;
    const ctx = { ...d.ctx, parameters: { ...d.ctx.parameters } };
    return defer(() => from(this.lookup(key, text))).pipe(
      concatMap((hit): Observable<AnswerEvent> => {
        if (hit) return of({ kind: 'hit', hit });
        return defer(() => {
          timing.llmRequestedAt = performance.now();
          const stream = this.llm.stream({ ctx, messages, signal, state: key.state });
          const route = routeOf(stream);
          if (route) timing.routes.push(route);
          return from(stream);
        }).pipe(map((c): AnswerEvent => ({ kind: 'token', text: c.text, cacheable: c.cacheable !== false, endCall: c.endCall === true })));
      }),
    );
  }

  private utterance(turn: TurnRecord, pieces: Observable<AnswerPiece>, signal: AbortSignal): Utterance {
    const d = this.dialogue!;
    return { turn, pieces, signal, ctx: { ...d.ctx, parameters: { ...d.ctx.parameters } }, language: d.language, voice: d.voice(), audio: [] };
  }

  /** Speaks an utterance and keeps the history to what went out on the wire. */
  private say$(u: Utterance): Observable<never> {
    const d = this.dialogue!;
    return this.output.speak(u).pipe(
      tap((said) => {
        if (this.state === 'ended') return;
        // One history slot per turn, even when an older utterance (the greeting) is still going out.
        let slot = this.slots.get(u.turn);
        if (slot === undefined) this.slots.set(u.turn, (slot = d.push({ role: 'assistant', content: '' })));
        if (this.current?.historyIndex !== slot) this.current = { historyIndex: slot, turn: u.turn };
        const before = d.history[this.current.historyIndex].content;
        d.setContent(this.current.historyIndex, before ? `${before}${this.output.joiner}${said}` : said);
        this.state = 'speaking';
      }),
      ignoreElements(),
    );
  }

  private greet(): void {
    const rec = newTurn(0, performance.now(), performance.now());
    rec.source = 'greeting';
    const ac = new AbortController();
    const line = workflowLine(this.workflow, 'greeting', this.dialogue!.language);
    rec.answer = line;
    this.say$(this.utterance(rec, of({ text: line, final: true }), ac.signal))
      .pipe(
        takeUntil(this.interrupt$),
        finalize(() => {
          this.complete(rec);
          ac.abort();
        }),
        catchError((e) => (this.log.error({ err: e }, 'greeting failed'), EMPTY)),
      )
      .subscribe({ error: this.boundary.errorHandler('greeting') });
  }

  /** The answer's last piece went out (or it was cut): record the turn, then hang up if asked. */
  private complete(rec: TurnRecord): void {
    if (rec.user === undefined && rec.index > 0) return; // nothing was said: not a turn
    recordTurn(this.deps.metrics, rec, this.output.mode);
    this.turns.push(rec);
    this.log.info({ turn: rec.index, source: rec.source, user: rec.user, latency: rec.latency, interrupted: rec.interrupted }, 'turn');
    this.turnDone$.next(rec);
    if (this.state === 'ended') return;
    this.boundary.settle(
      'playout drained',
      this.output.drained().then(() => {
        // Only the latest turn may say the agent is done: an older one's playback ending must not.
        if ((this.state === 'speaking' || this.state === 'thinking') && !this.output.playing && rec.index === this.turnIndex) this.state = 'listening';
        this.hangUpIfGoodbyeSaid();
      }),
    );
  }

  /**
   * Once playback has drained: ends the call if the agent said goodbye. A barge-in or a caller turn
   * with words resets that; a caller turn still being transcribed postpones it.
   */
  private hangUpIfGoodbyeSaid(): void {
    if (this.hangupAfterPlayout && !this.callerTurnOpen && this.state !== 'ended') this.output.hangUp();
  }

  // ------------------------------------------------------------------ cache

  /** Cache lookup that never fails the turn: an error is logged and treated as a miss. */
  private async lookup(key: CacheKey, text: string): Promise<CacheHit | null> {
    if (!this.deps.cache) return null;
    try {
      return await this.deps.cache.lookup(key, text);
    } catch (e) {
      this.log.warn({ err: e }, 'cache lookup failed');
      return null;
    }
  }

  /** Offers a finished LLM answer to the cache (it decides whether to keep it); never throws. */
  private learn(key: CacheKey, query: string, answer: string, cacheable: boolean, audio: Uint8Array | undefined, ordinal: number): void {
    const cache = this.deps.cache;
    if (!cache || !query || !answer) return;
    cache
      .learn(key, query, answer, cacheable)
      .then((id) => {
        if (id && audio && audio.length > 0) cache.attachAudio(id, key.voice, audio);
        if (id) this.predict(ordinal, id, key, { hit: false, audio: false });
      })
      .catch((e) => this.log.warn({ err: e }, 'cache learn failed'));
  }

  /** A turn was answered by a cache entry: counted as following the previous one; what follows it may be synthesised now. */
  private predict(ordinal: number, entryId: string, key: CacheKey, how: { hit: boolean; audio: boolean }): void {
    if (!this.predictions || this.state === 'ended') return;
    const out = this.output;
    const d = this.dialogue!;
    const voice = d.voice();
    const language = d.language;
    // Only in the voice the entry's audio is kept for (a language switch may have moved the call on).
    const synth = out.presynthesize && d.cacheKey().voice === key.voice ? (t: string, signal: AbortSignal) => out.presynthesize!(t, voice, language, signal) : undefined;
    this.predictions.answered(ordinal, entryId, key, how, synth);
  }

  // ------------------------------------------------------------------ speculation

  /** Same words, same language, same history: only then may a speculative answer be used. */
  private specKey(text: string): string {
    const d = this.dialogue!;
    return `${specNormalise(text)}\u0000${d.language}\u0000${d.version}`;
  }

  private speculate(text: string): void {
    if (this.state === 'ended' || !this.dialogue || specNormalise(text) === '') return;
    const key = this.specKey(text);
    if (this.spec?.key === key) return;
    this.dropSpeculation();
    const ac = new AbortController();
    const events = new ReplaySubject<AnswerEvent>();
    const timing: AnswerTiming = { routes: [] };
    const messages = [...this.dialogue.history, { role: 'user' as const, content: text }];
    const sub = this.source$(text, messages, this.dialogue.cacheKey(), ac.signal, timing).subscribe(events);
    this.spec = { key, words: specNormalise(text), ac, events, sub, timing };
    this.speculation.started++;
    this.log.debug({ partial: text }, 'speculating on interim input');
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
    this.specDropped++;
  }
}

/** What a keypad digit stands for in this workflow (workflow.dtmf), as caller input. */
export function dtmfText(workflow: Workflow, digit: string): string {
  return workflow.dtmf[digit] ?? `I pressed ${digit}.`;
}
