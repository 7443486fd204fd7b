// The conversation state of a call: the chat history with its language-specific system prompt,
// the call context providers see, the language tracker, and the voice and cache key for the
// current language. The call core (call-core.ts) owns one.
import type { CallContext, ChatMessage } from '../../adapters/kit/types.ts';
import type { Config } from '../config.ts';
import type { Workflow } from '../workflow.ts';
import type { CacheKey } from './answer-cache.ts';
import { LanguageTracker, type LanguageObservation } from '../language/tracker.ts';
import { systemPromptFor } from '../language/prompts.ts';
import { getLocale } from '../language/registry.ts';

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
    return workflowVoice(this.opts.workflow, this.ctx.language, this.opts.ttsName, this.opts.voiceFor);
  }

  /** The cache's hard partition for this call right now (docs/architecture.md, "Cache"). */
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

/** The workflow's voice for a locale (exact, then its base language), else the registry default for the TTS chain. */
export function workflowVoice(workflow: Pick<Workflow, 'voices'>, locale: string, ttsName: string, voiceFor?: (locale: string, ttsProvider: string) => string | undefined): string {
  const w = workflow.voices;
  return w[locale] ?? w[locale.split('-')[0]] ?? voiceFor?.(locale, ttsName) ?? '';
}

/** The cache key's voice: the TTS chain and its voice, so audio from one never plays for another. */
export function cacheVoice(ttsName: string, voice: string): string {
  return `${ttsName}:${voice}`;
}
