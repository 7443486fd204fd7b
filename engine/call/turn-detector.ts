// Endpointing from per-frame VAD output. A turn starts once enough voiced audio accumulates
// (so clicks and coughs are not turns) and ends after a hangover of continuous silence (so the
// short pauses inside a sentence do not end it).
//
// A frame is voiced by its speech probability with hysteresis (onset above `onsetProb`, held
// above `offsetProb`), both raised on a line whose non-speech probability runs high, and only
// when its level stands out of the line's noise floor (so a VAD that calls steady noise speech
// cannot hold a turn open for ever). While the agent's own audio may be echoing, a frame is the
// caller's only if it is louder than the echo the DSP estimates is left in it plus the noise: by
// `echoMarginDb` to start voicing, by `echoHoldDb` to go on (the caller's quieter syllables), or
// when enough of its energy stands out of the echo band by band (`echoShareMin`), and
// optionally a stretch becomes a turn (and so a barge-in) only once one of its frames stood
// `echoConfirmDb` out (residual echo and line noise rarely stand that far out, but neither does a
// caller on a very noisy line).
//
// The hangover adapts to the words so far (interim transcripts): short when they form a complete
// utterance, long when they trail off ("and", "so", "um", "because", their Spanish and Chinese
// equivalents, Cantonese particles), the default when there is nothing to judge.
//
// On a line whose background is itself speech (babble, a TV), where the probability cannot tell
// the caller from it, a frame must also stand part of the way from the background's level to the
// caller's (the foreground gate): the caller is the nearest talker. A turn starts there only once
// the level stands further out (a TV's loud syllable reaches the gate; the caller's onset goes past it).

import type { Config } from '../config.ts';

export interface TurnDetectorOptions {
  frameMs?: number;
  /** Voiced audio needed before a turn counts as started. */
  minSpeechMs: number;
  /** Continuous silence that ends a turn when the words so far say nothing (or there are none). */
  endSilenceMs: number;
  /** Hangover after a complete utterance (default: endSilenceMs, i.e. no adaptation). */
  endSilenceMinMs?: number;
  /** Hangover after words that trail off (default: endSilenceMs). */
  endSilenceMaxMs?: number;
  /** Silence that resets a not-yet-started candidate (isolated blips never add up). */
  candidateGapMs?: number;
  /** Speech probability that starts voicing, and that holds it (hysteresis). Defaults 0.5, 0.35. */
  onsetProb?: number;
  offsetProb?: number;
  /** The onset threshold is at least the line's non-speech probability plus this (default 0.2). */
  noiseProbMargin?: number;
  /** A frame must be this many dB above the line's noise floor to be voiced (default 3; 0 = off). */
  snrGateDb?: number;
  /** While echo may be present, a frame must be this many dB above the echo left in it and the noise together (default 6). */
  echoMarginDb?: number;
  /** The same margin for a frame that continues voicing (hysteresis; default: echoMarginDb, none). */
  echoHoldDb?: number;
  /** While echo may be present, a stretch counts only once one voiced frame stood this far out of echo and noise (default 0: off). */
  echoConfirmDb?: number;
  /**
   * A frame also stands out of the echo when this share of its energy lies in bands standing out
   * of the echo left and the noise (FrameFeatures.echoShare; default 1: off): the caller's voice
   * fills bands the agent's syllable leaves empty while the whole band is still the agent's.
   */
  echoShareMin?: number;
  /**
   * Soft onset credited to speech when the VAD confirms it (default 0): the frames just before,
   * as long as they stood out of the noise floor and the echo. Worth it for a neural VAD, which
   * confirms a few windows into an utterance; less than a barge-in's minimum speech, so the VAD
   * must still confirm part of it itself.
   */
  onsetCreditMs?: number;
  /** A pause inside speech this short (or shorter) counts as voiced once the speech resumes (default 0). */
  pauseBridgeMs?: number;
  /**
   * Window over which the line's low speech probability is taken (default 8000; 0: off): the
   * onset rises to its 10th percentile plus noiseProbMargin, so other talkers behind the caller
   * (babble) do not hold a turn open between the caller's words.
   */
  lineProbWindowMs?: number;
  /**
   * On a line whose background is speech, the fraction of the way from the background's level to
   * the caller's that the last 200 ms must reach for a frame to be voiced (default 0.3; 0: off).
   */
  foregroundFrac?: number;
}

/** What the DSP says about one frame. A bare boolean is a VAD decision with no level. */
export interface FrameFeatures {
  /** Speech probability 0..1. */
  prob: number;
  /** Frame level, dBFS. */
  levelDb?: number;
  /** Echo level left in the frame, dBFS (≤ -90: none). */
  echoDb?: number;
  /** Share of the frame's energy in bands standing out of the echo left and the noise (0..1). */
  echoShare?: number;
}

export type Completeness = 'complete' | 'trailing' | 'unknown';

export type TurnEvent =
  /** The caller started a turn; `startedAt` is the first voiced frame of it. */
  | { type: 'start'; at: number; startedAt: number }
  /** Still speaking; `voicedMs` counts voiced audio in this turn so far (barge-in uses it). */
  | { type: 'voiced'; at: number; voicedMs: number }
  /**
   * The turn ended: `at` is when the hangover ran out, `lastVoiceAt` the last voiced frame;
   * `hangoverMs` the silence it waited for, chosen by `completeness` of the words heard.
   */
  | { type: 'end'; at: number; lastVoiceAt: number; startedAt: number; voicedMs: number; hangoverMs: number; completeness: Completeness };

const NO_ECHO_DB = -90;
/**
 * The echo estimate taken is the highest of this frame's and the previous two: the echo left can
 * arrive a frame or two off the canceller's estimate (the echo path's tail, a delay a few ms off,
 * a filter still converging), and a caller is louder than that for longer.
 */
const ECHO_PEAK_FRAMES = 3;
/** The percentile of the last lineProbWindowMs of probabilities taken for the line's background. */
const LINE_PROB_PERCENTILE = 0.1;
/** Frames whose mean level the foreground gate judges (200 ms: a syllable, not one frame's spike). */
const RECENT_FRAMES = 10;
/**
 * The background's mean speech probability above which it counts as talkers (foreground gate on):
 * babble and a TV run 0.3–0.8 outside turns; steady noise stays under 0.12 (the callers' own
 * onsets before a turn starts), where the level would only split turns at their soft syllables.
 */
const TALKER_BG_PROB = 0.2;
/**
 * How far from the background's level to the caller's the last 200 ms must stand for a turn to
 * start on such a line (at least the gate's own fraction): a single talker behind the caller (a
 * TV) reaches the gate with its loud syllables, a few dB over its mean level, for a few hundred
 * ms at a time; the caller's onset goes further. The frames stay voiced (a turn starts on them a
 * frame or two later if they go on); only the start waits.
 */
const START_FRAC = 0.6;
/**
 * Per-frame weights of the level trackers: the background over ≈ 2 s; the caller's up over
 * ≈ 0.4 s of voice and down over ≈ 1 s (the caller is the loudest talker: a turn the talkers
 * started must not hold the caller's level down for long).
 */
const BG_ALPHA = 0.01;
const CALLER_UP = 0.05;
const CALLER_DOWN = 0.02;
/** The onset credit that suits Silero VAD (it confirms 100–250 ms into a soft onset). */
export const SILERO_ONSET_CREDIT_MS = 200;

export class TurnDetector {
  private readonly frameMs: number;
  private readonly gapMs: number;
  private readonly minHang: number;
  private readonly maxHang: number;
  private readonly onset: number;
  private readonly offset: number;
  private readonly probMargin: number;
  private readonly snrGate: number;
  private readonly echoMargin: number;
  private readonly echoHold: number;
  private readonly echoConfirm: number;
  private readonly echoShareMin: number;
  /** The last ECHO_PEAK_FRAMES echo estimates (a ring). */
  private readonly echoRing = new Float64Array(ECHO_PEAK_FRAMES).fill(NO_ECHO_DB);
  private echoAt = 0;
  /** The last frame may hold the agent's echo (the echo gate decides it, and its level is not the line's). */
  private echoNow = false;
  /** The current stretch has had a frame out of the echo by echoConfirm (or no echo was on the line). */
  private confirmed = false;
  private readonly onsetCredit: number;
  private readonly pauseBridge: number;
  private inTurn = false;
  /** Hysteresis state of the frame decision: whether the last frame pushed was voiced. */
  private voicing = false;
  private voicedMs = 0;
  private silenceMs = 0;
  private startedAt = 0;
  private lastVoiceAt = 0;
  /**
   * The current run of frames that stand out of the noise floor (and the echo), from its first
   * frame: when the VAD confirms speech, the run's start is the speech's start. A neural VAD
   * confirms a few windows into an utterance's soft onset; crediting the run keeps that lag out
   * of the minimum speech a turn or a barge-in needs, without letting noise in.
   */
  private runMs = 0;
  /** Noise floor (dBFS) and non-speech probability of the line, tracked over unvoiced frames. */
  private floorDb: number | undefined;
  private probFloor = 0;
  /** The last frames' probabilities (a ring) and their low percentile (trackLineProb). */
  private readonly probRing: Float32Array;
  private probAt = 0;
  private lineProbLow = 0;
  /** Foreground gate: the line outside turns (level dB, speech probability), the caller's level in turns, the last frames' levels. */
  private readonly fgFrac: number;
  private bgDb = 0;
  private bgProb = 0;
  private bgFrames = 0;
  private callerDb: number | undefined;
  private readonly recent = new Float64Array(RECENT_FRAMES);
  private recentSum = 0;
  private recentAt = 0;
  private words = '';
  private language: string | undefined;
  private completeness: Completeness = 'unknown';

  constructor(private readonly opts: TurnDetectorOptions) {
    this.frameMs = opts.frameMs ?? 20;
    this.gapMs = opts.candidateGapMs ?? 200;
    this.minHang = opts.endSilenceMinMs ?? opts.endSilenceMs;
    this.maxHang = opts.endSilenceMaxMs ?? opts.endSilenceMs;
    if (!(this.minHang <= opts.endSilenceMs && opts.endSilenceMs <= this.maxHang)) {
      throw new RangeError(`hangover bounds must satisfy min ≤ default ≤ max, got ${this.minHang} ≤ ${opts.endSilenceMs} ≤ ${this.maxHang}`);
    }
    this.onset = opts.onsetProb ?? 0.5;
    this.offset = opts.offsetProb ?? 0.35;
    if (!(this.offset <= this.onset)) throw new RangeError(`offsetProb (${this.offset}) must not exceed onsetProb (${this.onset})`);
    this.probMargin = opts.noiseProbMargin ?? 0.2;
    this.snrGate = opts.snrGateDb ?? 3;
    this.echoMargin = opts.echoMarginDb ?? 6;
    this.echoHold = opts.echoHoldDb ?? this.echoMargin;
    if (!(this.echoHold <= this.echoMargin)) throw new RangeError(`echoHoldDb (${this.echoHold}) must not exceed echoMarginDb (${this.echoMargin})`);
    this.echoConfirm = opts.echoConfirmDb ?? 0;
    this.echoShareMin = opts.echoShareMin ?? 1;
    this.onsetCredit = opts.onsetCreditMs ?? 0;
    this.probRing = new Float32Array(Math.round((opts.lineProbWindowMs ?? 8000) / this.frameMs));
    this.pauseBridge = opts.pauseBridgeMs ?? 0;
    this.fgFrac = opts.foregroundFrac ?? 0.3;
  }

  get speaking(): boolean {
    return this.inTurn;
  }

  /** Whether the last frame pushed counted as the caller's voice. */
  get lastVoiced(): boolean {
    return this.voicing;
  }

  /** The line's noise floor as tracked (dBFS), for diagnostics. */
  get noiseFloorDb(): number | undefined {
    return this.floorDb;
  }

  /** The hangover the current words call for. */
  get hangoverMs(): number {
    return this.completeness === 'complete' ? this.minHang : this.completeness === 'trailing' ? this.maxHang : this.opts.endSilenceMs;
  }

  /** How complete the words recognised so far sound. */
  get wordsComplete(): boolean {
    return this.completeness === 'complete';
  }

  /** The caller is in a turn and the last frame was silence (the hangover is running). */
  get pausing(): boolean {
    return this.inTurn && this.silenceMs > 0;
  }

  /** The words recognised so far in this turn (an interim transcript), in the call's language. */
  setTranscript(text: string, language?: string): void {
    this.words = text;
    this.language = language;
    this.completeness = classifyUtterance(text, language);
  }

  /** Feed one frame; `at` is the frame's time on the engine's clock. */
  push(frame: boolean | FrameFeatures, at: number): TurnEvent | null {
    const speech = this.voiced(typeof frame === 'boolean' ? { prob: frame ? 1 : 0 } : frame);
    if (speech) {
      if (this.voicedMs === 0) {
        // The onset before the VAD confirmed (at most onsetCreditMs) counts as speech.
        const credit = Math.min(this.onsetCredit, Math.max(0, this.runMs - this.frameMs));
        this.startedAt = at - credit;
        this.voicedMs = credit;
      }
      // A short pause inside speech (between syllables or words) counts as part of it.
      if (this.voicedMs > 0 && this.silenceMs > 0 && this.silenceMs <= this.pauseBridge) this.voicedMs += this.silenceMs;
      this.voicedMs += this.frameMs;
      this.silenceMs = 0;
      this.lastVoiceAt = at;
      if (!this.inTurn && this.voicedMs >= this.opts.minSpeechMs && this.confirmed && this.standsOut()) {
        this.inTurn = true;
        return { type: 'start', at, startedAt: this.startedAt };
      }
      return this.inTurn ? { type: 'voiced', at, voicedMs: this.voicedMs } : null;
    }
    this.silenceMs += this.frameMs;
    if (!this.inTurn) {
      if (this.voicedMs > 0 && this.silenceMs >= this.gapMs) {
        this.voicedMs = 0;
        this.confirmed = false;
      }
      return null;
    }
    const hangoverMs = this.hangoverMs;
    if (this.silenceMs >= hangoverMs) {
      const ev: TurnEvent = { type: 'end', at, lastVoiceAt: this.lastVoiceAt, startedAt: this.startedAt, voicedMs: this.voicedMs, hangoverMs, completeness: this.completeness };
      this.reset();
      return ev;
    }
    return null;
  }

  /** The frame decision: hysteresis on the probability, the noise-floor gate, the echo gate. */
  private voiced(f: FrameFeatures): boolean {
    const level = f.levelDb;
    this.trackLineProb(f.prob);
    const onset = Math.min(0.95, Math.max(this.onset, Math.max(this.probFloor, this.lineProbLow) + this.probMargin));
    const offset = Math.min(onset, Math.max(this.offset, onset - (this.onset - this.offset)));
    // Loud enough to be the caller: above the noise floor, and above the echo left in the frame.
    let audible = true;
    if (level !== undefined && this.snrGate > 0 && this.floorDb !== undefined && level < this.floorDb + this.snrGate) audible = false;
    const echoDb = this.echoPeak(f.echoDb);
    this.echoNow = echoDb > NO_ECHO_DB;
    /** How far the frame stands out of the echo and the noise together (Infinity: no echo). */
    let outOfEcho = Infinity;
    if (level !== undefined && echoDb > NO_ECHO_DB) {
      const masker = this.floorDb === undefined ? echoDb : 10 * Math.log10(10 ** (echoDb / 10) + 10 ** (this.floorDb / 10));
      outOfEcho = level - masker;
      const bandsOut = f.echoShare !== undefined && this.echoShareMin < 1 && f.echoShare >= this.echoShareMin;
      if (outOfEcho < (this.voicing ? this.echoHold : this.echoMargin) && !bandsOut) audible = false;
    }
    if (audible && level !== undefined) {
      this.runMs += this.frameMs;
    } else if (!audible) this.runMs = 0;
    let v = audible && f.prob >= (this.voicing ? offset : onset);
    if (level !== undefined && this.fgFrac > 0) v = this.foreground(level, f.prob, v, echoDb > NO_ECHO_DB);
    // (Off, every voiced frame confirms: one voiced by its bands alone may stand under the echo over the whole band.)
    if (v && (this.echoConfirm <= 0 || outOfEcho >= this.echoConfirm)) this.confirmed = true;
    this.voicing = v;
    if (!v && !this.inTurn && level !== undefined) {
      // Track the line while nobody speaks: fast down, slow up (a turn's silences are not noise).
      if (this.floorDb === undefined) this.floorDb = level;
      else this.floorDb += (level < this.floorDb ? 0.1 : 0.01) * (level - this.floorDb);
      this.probFloor += 0.01 * (f.prob - this.probFloor);
    }
    return v;
  }

  /**
   * The foreground gate: on a line whose background the VAD calls speech, a voiced frame stays
   * voiced only if the last RECENT_FRAMES frames' mean level (dB) stands fgFrac of the way from the
   * background's level to the caller's (before the caller's first turn: above the background). So
   * a turn ends when the level drops back to the talkers behind the caller, and their loudest
   * moments do not start one. Both levels are tracked on frames without echo (the agent's voice
   * says nothing about the line).
   */
  private foreground(level: number, prob: number, v: boolean, echo: boolean): boolean {
    const i = this.recentAt++ % RECENT_FRAMES;
    this.recentSum += level - this.recent[i];
    this.recent[i] = level;
    if (v && this.bgFrames > 0 && this.bgProb >= TALKER_BG_PROB) {
      const gate = this.bgDb + this.fgFrac * Math.max(0, (this.callerDb ?? this.bgDb) - this.bgDb);
      if (this.recentSum / Math.min(this.recentAt, RECENT_FRAMES) < gate) v = false;
    }
    if (echo) return v;
    if (!this.inTurn) {
      // The probability's mean from the first frame, then ≈ the last 2 s; the level from the first frame on.
      const a = Math.max(BG_ALPHA, 1 / ++this.bgFrames);
      this.bgDb = this.bgFrames === 1 ? level : this.bgDb + BG_ALPHA * (level - this.bgDb);
      this.bgProb += a * (prob - this.bgProb);
    } else if (v) this.callerDb = this.callerDb === undefined ? level : this.callerDb + (level > this.callerDb ? CALLER_UP : CALLER_DOWN) * (level - this.callerDb);
    return v;
  }

  /**
   * Whether the last 200 ms stand far enough out of the talkers behind the caller for a turn to
   * start (START_FRAC). Not while the agent's echo may be on the line: its level is the echo's too,
   * and the echo gate already judges those frames (a barge-in must not wait on it).
   */
  private standsOut(): boolean {
    if (this.fgFrac <= 0 || this.echoNow || this.bgFrames === 0 || this.bgProb < TALKER_BG_PROB) return true;
    const frac = Math.max(this.fgFrac, START_FRAC);
    const gate = this.bgDb + frac * Math.max(0, (this.callerDb ?? this.bgDb) - this.bgDb);
    return this.recentSum / Math.min(this.recentAt, RECENT_FRAMES) >= gate;
  }

  /** The highest echo estimate over the last ECHO_PEAK_FRAMES frames (≤ NO_ECHO_DB: none now). */
  private echoPeak(echoDb: number | undefined): number {
    const e = echoDb ?? NO_ECHO_DB;
    this.echoRing[this.echoAt++ % ECHO_PEAK_FRAMES] = e;
    if (e <= NO_ECHO_DB) return e;
    let m = e;
    for (const x of this.echoRing) if (x > m) m = x;
    return m;
  }

  /**
   * A low percentile of the speech probability over the last few seconds, every frame counted,
   * in turns or not: other talkers behind the caller (babble) keep a neural VAD's probability
   * high between the caller's words, where a quiet line's drops to near zero. The caller speaking
   * most of the time still leaves the low tail to the background.
   */
  private trackLineProb(prob: number): void {
    const n = this.probRing.length;
    if (n === 0) return;
    this.probRing[this.probAt++ % n] = prob;
    // From 1 s of line on, every 10 frames.
    if (this.probAt % 10 !== 0 || this.probAt < 50) return;
    const sorted = this.probRing.slice(0, Math.min(this.probAt, n)).sort();
    this.lineProbLow = sorted[Math.floor(LINE_PROB_PERCENTILE * sorted.length)];
  }

  reset(): void {
    this.inTurn = false;
    this.confirmed = false;
    this.voicedMs = 0;
    this.silenceMs = 0;
    this.words = '';
    this.completeness = 'unknown';
  }
}

/** The settings a call's turn detector is built from. */
export type TurnSettings = Pick<
  Config,
  | 'DSP_VAD'
  | 'TURN_MIN_SPEECH_MS'
  | 'TURN_END_SILENCE_MS'
  | 'TURN_END_SILENCE_MIN_MS'
  | 'TURN_END_SILENCE_MAX_MS'
  | 'TURN_ONSET_PROB'
  | 'TURN_OFFSET_PROB'
  | 'TURN_NOISE_PROB_MARGIN'
  | 'TURN_SNR_GATE_DB'
  | 'TURN_FOREGROUND_FRAC'
  | 'TURN_PAUSE_BRIDGE_MS'
  | 'BARGE_IN_ECHO_MARGIN_DB'
  | 'BARGE_IN_ECHO_HOLD_DB'
  | 'BARGE_IN_ECHO_CONFIRM_DB'
  | 'BARGE_IN_ECHO_SHARE'
>;

/** A call's turn detector from the deployment's settings (validated at startup by engine/config.ts). */
export function turnDetectorFor(c: TurnSettings): TurnDetector {
  return new TurnDetector({
    minSpeechMs: c.TURN_MIN_SPEECH_MS,
    endSilenceMs: c.TURN_END_SILENCE_MS,
    endSilenceMinMs: c.TURN_END_SILENCE_MIN_MS,
    endSilenceMaxMs: c.TURN_END_SILENCE_MAX_MS,
    onsetProb: c.TURN_ONSET_PROB,
    offsetProb: c.TURN_OFFSET_PROB,
    noiseProbMargin: c.TURN_NOISE_PROB_MARGIN,
    snrGateDb: c.TURN_SNR_GATE_DB,
    foregroundFrac: c.TURN_FOREGROUND_FRAC,
    echoMarginDb: c.BARGE_IN_ECHO_MARGIN_DB,
    echoHoldDb: c.BARGE_IN_ECHO_HOLD_DB,
    echoConfirmDb: c.BARGE_IN_ECHO_CONFIRM_DB,
    echoShareMin: c.BARGE_IN_ECHO_SHARE,
    pauseBridgeMs: c.TURN_PAUSE_BRIDGE_MS,
    onsetCreditMs: c.DSP_VAD === 'silero' ? SILERO_ONSET_CREDIT_MS : 0,
  });
}

// ---------------------------------------------------------------------------------------
// Does an utterance sound finished? Words that cannot end a sentence (conjunctions, fillers,
// articles, prepositions) mean more is coming; final punctuation, a sentence-final particle, or a
// few words ending on anything else mean it is complete; one or two bare words say nothing.

/** Conjunctions and fillers: more is coming even after a full stop. */
const CONTINUES: Record<string, ReadonlySet<string>> = {
  en: new Set('and or but so because cause cos if than then while although though unless until um umm uh uhh er erm ah hmm mm like plus'.split(' ')),
  es: new Set('y e o u ni pero porque pues entonces aunque si cuando mientras eh em mm este bueno'.split(' ')),
};
/** Articles, prepositions, determiners: an unpunctuated utterance cannot end on them. */
const OPEN: Record<string, ReadonlySet<string>> = {
  en: new Set('the a an my your our their his her its this these those to of in on at for with from about into by as that just also'.split(' ')),
  es: new Set('que de del al el la los las un una unos unas con sin para por en a como mi mis tu tus su sus esta ese esa'.split(' ')),
};
/** Chinese (Mandarin and Cantonese): endings that leave the clause open. */
const CJK_TRAILING = ['一个', '一個', '呢個', '这个', '這個', '同埋', '跟住', '然後', '然后', '所以', '因為', '因为', '但係', '但是', '不過', '不过', '即係', '就係', '就是', '那个', '那個', '嗰個', '嗰啲', '或者', '如果', '還有', '还有', '和', '同', '跟', '嗯', '呃', '啊嗯', '咁', '就', '或', '但', '的话', '嘅話'];
/** Sentence-final particles (Cantonese 呀 啊 嗎 喎 㗎 啦 囉 咩 吖 嘛 呢 未; Mandarin 吗 呢 吧 啊 呀 了): the clause is closed. */
const CJK_FINAL = /[呀啊嗎吗喎㗎啦囉咩吖嘛呢未吧了喇嘞]$/u;
const FINAL_PUNCT = /[.?!。？！]$/u;
const CJK = /\p{Script=Han}/u;

export function classifyUtterance(text: string, language?: string): Completeness {
  const t = text.trim();
  if (t === '') return 'unknown';
  if (/(\.\.\.|…|,|，|、|-|—)$/u.test(t)) return 'trailing';
  const core = t.replace(/[\s.?!。？！"'“”‘’)）]+$/u, '');
  if (core === '') return 'unknown';
  if (CJK.test(core.slice(-1))) {
    if (CJK_TRAILING.some((w) => core.endsWith(w))) return 'trailing';
    if (FINAL_PUNCT.test(t) || CJK_FINAL.test(core)) return 'complete';
    return [...core].filter((c) => CJK.test(c)).length >= 4 ? 'complete' : 'unknown';
  }
  const words = core.toLowerCase().split(/\s+/u);
  const last = words[words.length - 1].replace(/^[¿¡"'“‘(]+/u, '');
  const lang = (language ?? 'en').slice(0, 2).toLowerCase();
  if ((CONTINUES[lang] ?? CONTINUES.en).has(last) || CONTINUES.en.has(last)) return 'trailing';
  if (FINAL_PUNCT.test(t)) return 'complete';
  if ((OPEN[lang] ?? OPEN.en).has(last)) return 'trailing';
  return words.length >= 3 ? 'complete' : 'unknown';
}
