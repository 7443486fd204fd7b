// Why a simulated caller's utterance got no agent audio in its window (generator.ts: from the end
// of the utterance to the end of the next one), read from the engine's turn records for the call
// (GET /calls/:sid/metrics). The simulated STT hands out the call's scripted transcripts in order,
// one per transcribed turn, so the engine's j-th recorded caller turn carries transcript j and
// answers utterance j unless the engine ended a turn inside an utterance (a split).
import type { CallReport } from '../../engine/metrics/call-report.ts';
/** An utterance on the caller's clock (generator.ts's Utterance). */
interface Utterance {
  startMs: number;
  endMs: number;
}

export type UnansweredKind =
  /** The caller's next utterance began before the answer's first audio and cut it (a newer input wins: intended). */
  | 'superseded'
  /** Its transcription was cut by the caller's next utterance (the engine's turn carrying its transcript ended after the next utterance did). */
  | 'superseded-in-stt'
  /** The engine ended a turn inside an utterance (at a pause it took for the end), so later transcripts went to other turns. */
  | 'split'
  /** The caller hung up (stop) before the answer to its last utterance played. */
  | 'caller-hung-up'
  /** Answered, but the first audio came only after the next utterance had ended. */
  | 'late'
  /** No engine turn for it at all (no end of speech detected, or its transcription was cut). */
  | 'no-turn'
  /** The engine's report could not be read (the call was gone from its registry). */
  | 'unknown';

export interface UnansweredTurn {
  utterance: number;
  kind: UnansweredKind;
  /** Engine end of speech − the utterance's end (engine and caller clocks both start at the socket's open): hangover plus frame lag. */
  speechEndLateMs?: number;
  /** The engine's turn: end of speech → response start (cache hit or LLM first token), when it got that far. */
  responseAfterMs?: number;
}

/** How far before an utterance's labelled end an engine end of speech must fall to be a split (clock offsets, label slack). */
const SPLIT_SLACK_MS = 300;

/** Classifies each unanswered utterance (indices into `utterances`, on the caller's clock). */
export function classifyUnanswered(unanswered: number[], utterances: Utterance[], report: CallReport | undefined): UnansweredTurn[] {
  if (!report) return unanswered.map((utterance) => ({ utterance, kind: 'unknown' }));
  const turns = report.turns.filter((t) => t.index > 0).sort((a, b) => a.index - b.index);
  // The first turn that ended outside its utterance's window: before the utterance did (a split), or
  // after the next one did (this utterance's transcription was cut, so its transcript went to the
  // next one's turn). From there on transcripts and utterances no longer line up.
  const early = (j: number) => turns[j].at.speechEnd < utterances[j].endMs - SPLIT_SLACK_MS;
  const shift = turns.findIndex((t, j) => j < utterances.length && (early(j) || (j + 1 < utterances.length && t.at.speechEnd >= utterances[j + 1].endMs)));
  return unanswered.map((k): UnansweredTurn => {
    const t = turns[k];
    const u = utterances[k];
    const detail = t ? { speechEndLateMs: Math.round(t.at.speechEnd - u.endMs), ...(t.at.responseStart !== undefined ? { responseAfterMs: Math.round(t.at.responseStart - t.at.speechEnd) } : {}) } : {};
    if (shift >= 0 && shift <= k) return { utterance: k, kind: early(shift) ? 'split' : 'superseded-in-stt', ...detail };
    if (!t) return { utterance: k, kind: 'no-turn' };
    if (t.at.firstAudioSent !== undefined) return { utterance: k, kind: 'late', ...detail };
    return { utterance: k, kind: k + 1 < utterances.length ? 'superseded' : 'caller-hung-up', ...detail };
  });
}
