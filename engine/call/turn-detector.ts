// Endpointing from per-frame VAD flags. A turn starts once enough voiced audio accumulates
// (so clicks and coughs are not turns) and ends after a hangover of continuous silence (so
// the short pauses inside a sentence do not end it).

export interface TurnDetectorOptions {
  frameMs?: number;
  /** Voiced audio needed before a turn counts as started. */
  minSpeechMs: number;
  /** Continuous silence that ends a turn. */
  endSilenceMs: number;
  /** Silence that resets a not-yet-started candidate (isolated blips never add up). */
  candidateGapMs?: number;
}

export type TurnEvent =
  /** The caller started a turn; `startedAt` is the first voiced frame of it. */
  | { type: 'start'; at: number; startedAt: number }
  /** Still speaking; `voicedMs` counts voiced audio in this turn so far (barge-in uses it). */
  | { type: 'voiced'; at: number; voicedMs: number }
  /** The turn ended: `at` is when the hangover ran out, `lastVoiceAt` the last voiced frame. */
  | { type: 'end'; at: number; lastVoiceAt: number; startedAt: number; voicedMs: number };

export class TurnDetector {
  private readonly frameMs: number;
  private readonly gapMs: number;
  private inTurn = false;
  private voicedMs = 0;
  private silenceMs = 0;
  private startedAt = 0;
  private lastVoiceAt = 0;

  constructor(private readonly opts: TurnDetectorOptions) {
    this.frameMs = opts.frameMs ?? 20;
    this.gapMs = opts.candidateGapMs ?? 200;
  }

  get speaking(): boolean {
    return this.inTurn;
  }

  /** Feed one frame's VAD decision; `at` is the frame's time on the engine's clock. */
  push(speech: boolean, at: number): TurnEvent | null {
    if (speech) {
      if (this.voicedMs === 0) this.startedAt = at;
      this.voicedMs += this.frameMs;
      this.silenceMs = 0;
      this.lastVoiceAt = at;
      if (!this.inTurn && this.voicedMs >= this.opts.minSpeechMs) {
        this.inTurn = true;
        return { type: 'start', at, startedAt: this.startedAt };
      }
      return this.inTurn ? { type: 'voiced', at, voicedMs: this.voicedMs } : null;
    }
    this.silenceMs += this.frameMs;
    if (!this.inTurn) {
      if (this.voicedMs > 0 && this.silenceMs >= this.gapMs) this.voicedMs = 0;
      return null;
    }
    if (this.silenceMs >= this.opts.endSilenceMs) {
      const ev: TurnEvent = { type: 'end', at, lastVoiceAt: this.lastVoiceAt, startedAt: this.startedAt, voicedMs: this.voicedMs };
      this.reset();
      return ev;
    }
    return null;
  }

  reset(): void {
    this.inTurn = false;
    this.voicedMs = 0;
    this.silenceMs = 0;
  }
}
