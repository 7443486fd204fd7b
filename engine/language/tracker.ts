// One call's language, as a small state machine. The session calls observe() on each final
// transcript (or ConversationRelay prompt) before answering it, so a switch applies to the
// turn that caused it. Switches happen on an explicit request, on an STT-reported language,
// or on a confident text detection; weaker evidence must repeat over consecutive turns, and
// back-channel words ("ok", "嗯") never count.
import { detectLanguage, detectLanguageRequest, evidenceWeight, fromSttLanguage, isFiller, type Detection } from './detect.ts';
import { getLocale, requireLocale, sameLanguage, sttLocaleFor, voiceFor, type Gender, type LocaleInfo, type VoiceProvider } from './registry.ts';

export interface LanguageTrackerOptions {
  /** Confidence at which one turn switches the language (LANGUAGE_SWITCH_CONFIDENCE). */
  switchConfidence: number;
  /** PERFORMANCE_LANGUAGE_OPTIMIZATION: when false the language never changes. */
  enabled: boolean;
  /** Below this a turn is no evidence at all (default 0.5). */
  minEvidence?: number;
  /** Consecutive turns of weaker evidence that together switch (default 2). */
  repeatTurns?: number;
  /**
   * Locales the workflow is written for (its prompt/voice keys), preferred when a switch lands
   * on their language: a workflow with an es-ES prompt switches Spanish callers to es-ES.
   */
  preferred?: string[];
}

export type SwitchReason = 'detected' | 'requested' | 'stt';

export interface LanguageObservation {
  switched: boolean;
  from: string;
  to: string;
  /** Why it switched; 'none' when it did not. */
  reason: SwitchReason | 'none';
  /** Confidence of the evidence that was weighed (1 for a request). */
  confidence: number;
  /** The text detection, when one ran. */
  detection?: Detection;
}

export class LanguageTracker {
  private cur: LocaleInfo;
  private readonly opts: Required<Omit<LanguageTrackerOptions, 'preferred'>> & { preferred: LocaleInfo[] };
  /** Weaker evidence for another language, summed over consecutive turns. */
  private pending: { locale: string; score: number; turns: number } | undefined;

  constructor(initial: string, opts: LanguageTrackerOptions) {
    const l = getLocale(initial);
    if (!l) throw new Error(`LanguageTracker: unknown initial locale "${initial}"`);
    if (!(opts.switchConfidence >= 0 && opts.switchConfidence <= 1)) throw new Error(`LanguageTracker: switchConfidence must be within 0..1, got ${opts.switchConfidence}`);
    this.cur = l;
    const preferred: LocaleInfo[] = [];
    for (const p of opts.preferred ?? []) {
      const pl = getLocale(p);
      if (pl) preferred.push(pl);
    }
    this.opts = {
      switchConfidence: opts.switchConfidence,
      enabled: opts.enabled,
      minEvidence: opts.minEvidence ?? 0.5,
      repeatTurns: Math.max(1, opts.repeatTurns ?? 2),
      preferred,
    };
  }

  /** Current locale code (registry form, e.g. "zh-HK"). */
  get current(): string {
    return this.cur.code;
  }

  get locale(): LocaleInfo {
    return this.cur;
  }

  /** Sets the language directly (e.g. the workflow or an operator decided); not counted as a switch reason. */
  set(locale: string): void {
    this.cur = requireLocale(locale);
    this.pending = undefined;
  }

  /**
   * Weighs one caller turn. `sttLanguage` is what the recogniser reported, if anything
   * (OpenAI's "cantonese", Azure's "zh-HK", ConversationRelay's prompt `lang`).
   */
  observe(text: string, sttLanguage?: string): LanguageObservation {
    const from = this.cur.code;
    const stay = (confidence = 0, detection?: Detection): LanguageObservation => ({ switched: false, from, to: from, reason: 'none', confidence, detection });
    if (!this.opts.enabled) return stay();
    const t = typeof text === 'string' ? text.trim() : '';

    // 1. The caller asked: obey at once, whatever the confidence of anything else.
    const req = t ? detectLanguageRequest(t) : undefined;
    if (req) {
      const curIsChinese = this.cur.language === 'yue' || this.cur.language === 'cmn';
      // "中文" from a caller already in a Chinese variety keeps that variety.
      if ((req.generic && curIsChinese) || sameLanguage(req.locale, this.cur)) {
        this.pending = undefined;
        return stay(1);
      }
      return this.switchTo(req.locale, 'requested', 1);
    }
    if (t === '' || isFiller(t)) return stay();

    // 2. The recogniser's own language id, when it names a different language. One that repeats
    // the current language may just echo its configuration, so the text still gets a say.
    if (sttLanguage) {
      const sttLocale = fromSttLanguage(sttLanguage, t);
      if (sttLocale && !sameLanguage(sttLocale, this.cur)) {
        // Audio language id beats text on short turns, but a two-word turn is still thin.
        const confidence = Math.min(0.99, 0.95 * Math.min(1, 0.4 + evidenceWeight(t)));
        const r = this.weigh(sttLocale, confidence, 'stt');
        if (r) return r;
        return stay(confidence);
      }
    }

    // 3. The text itself.
    const d = detectLanguage(t);
    if (!d || !d.supported) return stay(0, d ?? undefined);
    if (this.compatible(d)) {
      this.pending = undefined;
      return stay(d.confidence, d);
    }
    const r = this.weigh(d.locale, d.confidence, 'detected', d);
    return r ?? stay(d.confidence, d);
  }

  /** True when the detection does not contradict the current language. */
  private compatible(d: Detection): boolean {
    if (sameLanguage(d.locale, this.cur)) return true;
    // Closely related languages scoring alike (ru/uk, es/pt): keep the one we have.
    if (d.alternatives.some((a) => sameLanguage(a, this.cur))) return true;
    const dl = getLocale(d.locale);
    // Mandarin with no script-specific character cannot tell zh-CN from zh-TW: keep ours.
    return dl !== undefined && dl.language === 'cmn' && this.cur.language === 'cmn' && d.script === undefined;
  }

  private weigh(locale: string, confidence: number, reason: SwitchReason, detection?: Detection): LanguageObservation | undefined {
    if (confidence >= this.opts.switchConfidence) return this.switchTo(locale, reason, confidence, detection);
    if (confidence < this.opts.minEvidence) {
      this.pending = undefined;
      return undefined;
    }
    // Between Chinese varieties, text without markers reads "Mandarin-ish" too easily (formal
    // written Chinese from a Cantonese recogniser): only a confident turn moves such a call.
    const target = getLocale(locale);
    const chinese = (x: LocaleInfo | undefined) => x !== undefined && (x.language === 'yue' || x.language === 'cmn');
    if (chinese(target) && chinese(this.cur)) {
      this.pending = undefined;
      return undefined;
    }
    // Weaker evidence: switch only when it repeats on consecutive turns.
    if (this.pending && sameLanguage(this.pending.locale, locale)) {
      this.pending.score += confidence;
      this.pending.turns++;
    } else {
      this.pending = { locale, score: confidence, turns: 1 };
    }
    if (this.pending.turns >= this.opts.repeatTurns && this.pending.score >= this.opts.switchConfidence * Math.min(this.pending.turns, 1.5)) {
      return this.switchTo(locale, reason, this.pending.score / this.pending.turns, detection);
    }
    return undefined;
  }

  private switchTo(locale: string, reason: SwitchReason, confidence: number, detection?: Detection): LanguageObservation {
    const from = this.cur.code;
    const target = this.opts.preferred.find((p) => sameLanguage(p, locale)) ?? requireLocale(locale);
    this.pending = undefined;
    if (target.code === from) return { switched: false, from, to: from, reason: 'none', confidence, detection };
    this.cur = target;
    return { switched: true, from, to: target.code, reason, confidence, detection };
  }
}

export interface LanguageSettings {
  locale: string;
  /** TTS voice for the provider asked (Media Streams). */
  voice: string;
  /** Recogniser language for Azure and OpenAI STT (Media Streams). */
  stt: { azure: string; openai: string };
  /** The ConversationRelay `language` message that moves Twilio's TTS and STT. */
  relayMessage: { type: 'language'; ttsLanguage: string; transcriptionLanguage: string };
  /** Language component of the cache context key: answers never cross it. */
  cacheLanguage: string;
  direction: 'ltr' | 'rtl';
}

/**
 * Everything a session changes when the language changes, in one place. A workflow's own voice
 * for the locale (workflow.voices) wins over the registry default.
 */
export function languageSettings(locale: string, provider: VoiceProvider, opts: { gender?: Gender; voices?: Record<string, string> } = {}): LanguageSettings {
  const l = requireLocale(locale);
  const own = opts.voices?.[l.code] ?? opts.voices?.[l.code.split('-')[0]];
  const relay = l.relay;
  return {
    locale: l.code,
    voice: own ?? voiceFor(l.code, provider, opts.gender),
    stt: { azure: sttLocaleFor(l.code, 'azure'), openai: sttLocaleFor(l.code, 'openai') },
    relayMessage: { type: 'language', ttsLanguage: relay, transcriptionLanguage: relay },
    cacheLanguage: l.code,
    direction: l.direction,
  };
}
