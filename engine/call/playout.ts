// What the caller has actually heard. Every segment of agent audio is followed by a mark;
// Twilio echoes a mark once the audio before it has played. `clear` makes Twilio echo every
// pending mark at once, so echoes that arrive after we sent `clear` prove nothing: we keep
// the queue and, on clear, estimate how far into the playing segment the caller got.

export interface Segment {
  /** Mark name sent after this segment's audio. */
  mark: string;
  text: string;
  /** Audio duration in ms (8000 μ-law bytes per second). */
  durationMs: number;
  /** When this segment could have started playing (engine clock), set as marks come back. */
  startedAt?: number;
}

export class Playout {
  private pending: Segment[] = [];
  /** When the audio now at the head of Twilio's buffer started playing. */
  private headStartedAt: number | undefined;
  private clearing = new Set<string>();
  private seq = 0;
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  get playing(): boolean {
    return this.pending.length > 0;
  }

  /** Registers a segment whose audio has just been sent; returns the mark name to send after it. */
  add(text: string, audioBytes: number, prefix = 'seg'): string {
    const mark = `${prefix}-${++this.seq}`;
    if (this.pending.length === 0) this.headStartedAt = this.now();
    this.pending.push({ mark, text, durationMs: audioBytes / 8 });
    return mark;
  }

  /** Twilio echoed a mark. Returns false for marks we never sent (or sent before a clear). */
  onMark(name: string): boolean {
    if (this.clearing.delete(name)) return true;
    const i = this.pending.findIndex((s) => s.mark === name);
    if (i < 0) return false;
    // Marks arrive in order; anything before `name` has played too.
    this.pending.splice(0, i + 1);
    this.headStartedAt = this.now();
    if (this.pending.length === 0) this.notifyDrained();
    return true;
  }

  /**
   * The caller barged in and we sent `clear`. Returns the marks that never played, and the
   * text heard of the one that was playing: its played fraction by elapsed time, cut at a
   * word boundary.
   */
  clear(): { dropped: string[]; headMark?: string; headHeard: string } {
    const head = this.pending[0];
    let partial = '';
    if (head && this.headStartedAt !== undefined) {
      const frac = Math.min(1, Math.max(0, (this.now() - this.headStartedAt) / Math.max(1, head.durationMs)));
      const words = head.text.split(/(\s+)/);
      const keepChars = Math.floor(head.text.length * frac);
      let acc = '';
      for (const w of words) {
        if ((acc + w).length > keepChars) break;
        acc += w;
      }
      partial = acc.trim();
    }
    const dropped = this.pending.map((s) => s.mark);
    for (const m of dropped) this.clearing.add(m);
    this.pending = [];
    this.headStartedAt = undefined;
    this.notifyDrained();
    return { dropped, headMark: head?.mark, headHeard: partial };
  }

  /** Resolves when everything sent so far has played (or was cleared). */
  drained(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  private notifyDrained(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }
}
