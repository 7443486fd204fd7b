// The conversation state both call modes share: the chat history with its language-specific
// system prompt, the call context providers see, the language tracker, the voice and cache key
// for the current language, plus the cache lookup/learn and turn-metrics steps around an answer.
// Media Streams and ConversationRelay sessions differ in transport, not in any of this.
import type { CallContext, ChatMessage } from '../../adapters/kit/types.ts';
import type { Config } from '../config.ts';
import type { Workflow } from '../workflow.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { AnswerCache, CacheHit, CacheKey } from './answer-cache.ts';
import { finishTurn, type TurnRecord } from './turn-record.ts';
import { LanguageTracker, type LanguageObservation } from '../language/tracker.ts';
import { systemPromptFor } from '../language/prompts.ts';
import { getLocale, voiceFor, type VoiceProvider } from '../language/registry.ts';
import { defer, type Observable, type OperatorFunction } from 'rxjs';
import { switchMap, takeUntil, finalize } from 'rxjs/operators';

export interface DialogueOptions {
  workflow: Workflow;
  callId: string;
  parameters: Record<string, string>;
  /** Starting locale (a `language` parameter, or the workflow's). */
  language: string;
  /** Name of the TTS provider chain: part of the cache key's voice. */
  ttsName: string;
  config: Pick<Config, 'PERFORMANCE_LANGUAGE_OPTIMIZATION' | 'LANGUAGE_SWITCH_CONFIDENCE'>;
  voiceFor?: (locale: string, ttsProvider: string) => string | undefined;
}

export class Dialogue {
  readonly history: ChatMessage[] = [];
  readonly ctx: CallContext;
  readonly tracker: LanguageTracker;
  /** Bumped on every history change, so work started on an older history can tell. */
  version = 0;

  constructor(private readonly opts: DialogueOptions) {
    const { workflow, config } = opts;
    this.tracker = new LanguageTracker(opts.language, {
      enabled: config.PERFORMANCE_LANGUAGE_OPTIMIZATION,
      switchConfidence: config.LANGUAGE_SWITCH_CONFIDENCE,
      preferred: [...Object.keys(workflow.voices), ...Object.keys(workflow.prompts)],
    });
    this.ctx = { callId: opts.callId, workflow: workflow.id, language: this.tracker.current, parameters: opts.parameters };
    this.history.push({ role: 'system', content: systemPromptFor(workflow, this.tracker.current) });
  }

  get language(): string {
    return this.ctx.language;
  }

  /** Weighs a caller turn for a language switch; on a switch the system prompt follows. */
  observe(text: string, sttLanguage?: string): LanguageObservation {
    const r = this.tracker.observe(text, sttLanguage);
    if (r.switched) {
      this.ctx.language = r.to;
      this.history[0] = { role: 'system', content: systemPromptFor(this.opts.workflow, r.to) };
      this.version++;
    }
    return r;
  }

  /** Sets the language outright (an operator or the workflow decided), prompt included. */
  setLanguage(locale: string): void {
    this.tracker.set(locale);
    if (this.tracker.current === this.ctx.language) return;
    this.ctx.language = this.tracker.current;
    this.history[0] = { role: 'system', content: systemPromptFor(this.opts.workflow, this.ctx.language) };
    this.version++;
  }

  push(message: ChatMessage): number {
    this.history.push(message);
    this.version++;
    return this.history.length - 1;
  }

  /** Replaces a message's text (an answer growing token by token, or cut at an interruption). */
  setContent(index: number, content: string): void {
    if (this.history[index].content === content) return;
    this.history[index].content = content;
    this.version++;
  }

  /** The workflow's voice for the current language, else the registry default for the TTS. */
  voice(): string {
    const locale = this.ctx.language;
    const w = this.opts.workflow.voices;
    return w[locale] ?? w[locale.split('-')[0]] ?? this.opts.voiceFor?.(locale, this.opts.ttsName) ?? '';
  }

  /** The cache's hard partition for this call right now (DESIGN.md §5). */
  cacheKey(state = 'faq'): CacheKey {
    return { workflow: this.opts.workflow.id, state, language: this.ctx.language, voice: cacheVoice(this.opts.ttsName, this.voice()) };
  }
}

/**
 * The call's starting locale: the `language` parameter when the registry knows it, else the
 * workflow's. A typo in a <Parameter name="language"> must not end the call; `rejected` says
 * what was refused so the session can warn and count it.
 */
export function initialLanguage(requested: string | undefined, workflow: Pick<Workflow, 'language'>): { locale: string; rejected?: string } {
  if (requested === undefined || requested === '') return { locale: workflow.language };
  const l = getLocale(requested.trim());
  return l ? { locale: l.code } : { locale: workflow.language, rejected: requested };
}

/** The cache key's voice: the TTS chain and its voice, so audio from one never plays for another. */
export function cacheVoice(ttsName: string, voice: string): string {
  return `${ttsName}:${voice}`;
}

/** Cache lookup that never fails the turn: an error is logged and treated as a miss. */
export async function lookupAnswer(cache: AnswerCache | undefined, key: CacheKey, text: string, log: Logger): Promise<CacheHit | null> {
  if (!cache) return null;
  try {
    return await cache.lookup(key, text);
  } catch (e) {
    log.warn({ err: e }, 'cache lookup failed');
    return null;
  }
}

/** Offers a finished LLM answer to the cache (it decides whether to keep it); never throws. */
export function learnAnswer(cache: AnswerCache | undefined, key: CacheKey, query: string, answer: string, cacheable: boolean, log: Logger, audio?: Uint8Array): void {
  if (!cache || !query || !answer) return;
  cache
    .learn(key, query, answer, cacheable)
    .then((id) => {
      if (id && audio && audio.length > 0) cache.attachAudio(id, key.voice, audio);
    })
    .catch((e) => log.warn({ err: e }, 'cache learn failed'));
}

/** Closes a turn record and feeds the per-stage latency histograms. */
export function recordTurn(metrics: Metrics, rec: TurnRecord, mode: 'media' | 'relay'): void {
  finishTurn(rec);
  if (rec.source) metrics.turns.inc({ source: rec.source });
  const l = rec.latency;
  if (l.turnMs === undefined) return;
  metrics.stageMs.observe({ stage: 'turn', mode }, l.turnMs);
  if (l.overheadMs !== undefined) metrics.stageMs.observe({ stage: 'overhead', mode }, l.overheadMs);
  if (l.sttMs !== undefined) metrics.stageMs.observe({ stage: 'stt', mode }, l.sttMs);
  if (l.responseMs !== undefined) metrics.stageMs.observe({ stage: 'response', mode }, l.responseMs);
  if (l.ttsMs !== undefined) metrics.stageMs.observe({ stage: 'tts', mode }, l.ttsMs);
}

/** The language registry's default voice for a TTS chain, by the chain's name. */
export function registryVoice(locale: string, tts: string): string | undefined {
  const provider: VoiceProvider | undefined = tts.startsWith('azure') ? 'azure' : tts.startsWith('openai') ? 'openai' : tts.startsWith('espeak') ? 'espeak' : undefined;
  return provider && getLocale(locale) ? voiceFor(locale, provider) : undefined;
}

/** What a keypad digit stands for in this workflow (workflow.dtmf), as caller input. */
export function dtmfText(workflow: Workflow, digit: string): string {
  return workflow.dtmf[digit] ?? `I pressed ${digit}.`;
}

/**
 * One answer per caller input, the newest winning (switchMap): each answer gets an AbortSignal
 * that fires when it is superseded, cut by `interrupt$`, or done, so every provider request it
 * started is cancelled.
 */
export function answerEach<I, O>(answer: (input: I, signal: AbortSignal) => Observable<O>, interrupt$: Observable<unknown>): OperatorFunction<I, O> {
  return switchMap((input) =>
    defer(() => {
      const ac = new AbortController();
      return answer(input, ac.signal).pipe(
        takeUntil(interrupt$),
        finalize(() => ac.abort()),
      );
    }),
  );
}
