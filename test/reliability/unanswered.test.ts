// The soak's reading of an unanswered utterance (bench/load/unanswered.ts), on the turn records of
// calls from a 100-call run at load average ≈ 8 (17:16 UTC, 2026-12-05), cut to what it reads.
import { describe, it, expect } from 'vitest';
import { classifyUnanswered } from '../../bench/load/unanswered.ts';
import type { CallReport, TurnReport } from '../../engine/metrics/call-report.ts';

const turn = (index: number, at: TurnReport['at']): TurnReport => ({ index, interrupted: false, at, latency: {}, providerWaitMs: 0, audioBytes: 0 });
const report = (turns: TurnReport[]): CallReport => ({ callSid: 'CA1', state: 'ended', durationMs: 25_000, turns, summary: { turns: turns.length, answered: 0, interrupted: 0, turnMs: { min: null, median: null, max: null } } });
/** The fixture's three utterances (call-3turns.labels.json) after a caller's lead of `lead` ms. */
const utterances = (lead: number) => [[1000, 8000], [9600, 12488], [14088, 17275]].map(([a, b]) => ({ startMs: a + lead, endMs: b + lead }));

describe('classifyUnanswered', () => {
  it('an answer still without audio when the next utterance began is superseded', () => {
    const r = report([turn(0, { speechEnd: 1, firstAudioSent: 120 }), turn(1, { speechEnd: 10673.5, sttFinal: 11021, responseStart: 11400.3 }), turn(2, { speechEnd: 14167.5, firstAudioSent: 14345.3 }), turn(3, { speechEnd: 18867.6, firstAudioSent: 19140.6 })]);
    expect(classifyUnanswered([0], utterances(1560), r)).toEqual([{ utterance: 0, kind: 'superseded', speechEndLateMs: 1114, responseAfterMs: 727 }]);
  });

  it('a turn ended inside an utterance makes every later unanswered one a split', () => {
    // Turn 1 ended 2.8 s into a 7 s utterance; the last utterance's transcript went to the one before.
    const r = report([turn(1, { speechEnd: 2837.8, firstAudioSent: 3173.1 }), turn(0, { speechEnd: 833.7, firstAudioSent: 1471.4 }), turn(2, { speechEnd: 8006.1, firstAudioSent: 8471.7 }), turn(3, { speechEnd: 12626.8, firstAudioSent: 13466.9 })]);
    expect(classifyUnanswered([2], utterances(20), r).map((u) => u.kind)).toEqual(['split']);
  });

  it("an utterance whose transcript went to the next utterance's turn was cut in its transcription", () => {
    // Utterance 1 (ends 12488) cut while transcribed: the turn carrying its transcript ended after utterance 2 did (17275).
    const r = report([turn(1, { speechEnd: 8200, firstAudioSent: 8500 }), turn(2, { speechEnd: 17600, firstAudioSent: 17900 })]);
    expect(classifyUnanswered([1, 2], utterances(0), r).map((u) => u.kind)).toEqual(['superseded-in-stt', 'superseded-in-stt']);
  });

  it('tells a late answer, a caller who hung up, a lost turn and a missing report apart', () => {
    const u = utterances(0);
    const late = report([turn(1, { speechEnd: 8200, firstAudioSent: 12600 })]);
    expect(classifyUnanswered([0], u, late)[0].kind).toBe('late');
    const hungUp = report([turn(1, { speechEnd: 8200, firstAudioSent: 8500 }), turn(2, { speechEnd: 12700, firstAudioSent: 13000 }), turn(3, { speechEnd: 17500, sttFinal: 17800 })]);
    expect(classifyUnanswered([2], u, hungUp)[0].kind).toBe('caller-hung-up');
    expect(classifyUnanswered([2], u, report([turn(1, { speechEnd: 8200, firstAudioSent: 8500 })]))[0].kind).toBe('no-turn');
    expect(classifyUnanswered([1], u, undefined)).toEqual([{ utterance: 1, kind: 'unknown' }]);
  });
});
