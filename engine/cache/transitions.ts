// Which answer follows which in calls: counts of "entry A answered a turn, entry B answered the
// caller's next one". Entry ids already carry the workflow, language and voice (cache-key.ts), so
// counts are per workflow and language without more keys. The cache persists them in its
// snapshot (snapshot.ts); they are not shared between instances. The call side
// (engine/call/prediction.ts) uses them to synthesise a likely next answer before it is asked.
import { LruMap } from './lru.ts';

/** Successors kept per entry: the rarest is dropped when another arrives (its count stays in the total). */
const MAX_SUCCESSORS = 16;

/** The snapshot's form: [from, total, [[to, count], …]]. */
export type TransitionRow = [string, number, Array<[string, number]>];

export interface LikelyNext {
  entryId: string;
  /** Share of the turns after `from` that this entry answered. */
  probability: number;
  /** How many times it did. */
  count: number;
}

interface Successors {
  /** Turns seen after this entry, including successors since dropped. */
  total: number;
  next: Map<string, number>;
}

export class Transitions {
  private readonly from = new LruMap<string, Successors>();
  private changes = 0;

  /** maxFrom: entries whose successors are kept at most (least recently answered forgotten first). */
  constructor(private readonly maxFrom: number) {}

  /** Bumped on every change: the snapshot is written again when it moved. */
  get revision(): number {
    return this.changes;
  }

  get size(): number {
    return this.from.size;
  }

  /** Entry `to` answered the turn after the one `from` answered, in one call. */
  observe(from: string, to: string): void {
    if (!from || !to || from === to) return; // asking again is not a next question
    let s = this.from.get(from);
    if (!s) {
      s = { total: 0, next: new Map() };
      this.from.set(from, s);
      while (this.from.size > this.maxFrom) this.from.delete(this.from.oldest()![0]);
    }
    s.total++;
    s.next.set(to, (s.next.get(to) ?? 0) + 1);
    if (s.next.size > MAX_SUCCESSORS) {
      let rarest: [string, number] | undefined;
      for (const e of s.next) if (e[0] !== to && (!rarest || e[1] < rarest[1])) rarest = e;
      s.next.delete(rarest![0]);
    }
    this.changes++;
  }

  /** Entries that followed `from` at least minCount times and in at least minProbability of its turns, likeliest first. */
  likely(from: string, minProbability: number, minCount: number): LikelyNext[] {
    const s = this.from.peek(from);
    if (!s || s.total === 0) return [];
    const out: LikelyNext[] = [];
    for (const [entryId, count] of s.next) {
      const probability = count / s.total;
      if (count >= minCount && probability >= minProbability) out.push({ entryId, probability, count });
    }
    return out.sort((a, b) => b.count - a.count);
  }

  /** Rows for the snapshot, oldest first (so the LRU order survives), keeping only entries `keep` accepts. */
  rows(keep: (entryId: string) => boolean): TransitionRow[] {
    const rows: TransitionRow[] = [];
    for (const [from, s] of this.from.entries()) {
      if (!keep(from)) continue;
      const next = [...s.next].filter(([to]) => keep(to));
      if (next.length > 0) rows.push([from, s.total, next]);
    }
    return rows;
  }

  /** Replaces the counts with a snapshot's; malformed rows are skipped. */
  load(rows: unknown): number {
    this.from.clear();
    if (!Array.isArray(rows)) return 0;
    for (const r of rows) {
      if (!Array.isArray(r) || typeof r[0] !== 'string' || !Number.isFinite(r[1]) || !Array.isArray(r[2])) continue;
      const next = new Map<string, number>();
      for (const e of r[2] as unknown[]) if (Array.isArray(e) && typeof e[0] === 'string' && Number.isInteger(e[1]) && e[1] > 0) next.set(e[0], e[1]);
      const total = Math.max(r[1] as number, [...next.values()].reduce((a, b) => a + b, 0));
      if (next.size > 0) this.from.set(r[0], { total, next });
    }
    while (this.from.size > this.maxFrom) this.from.delete(this.from.oldest()![0]);
    return this.from.size;
  }
}
