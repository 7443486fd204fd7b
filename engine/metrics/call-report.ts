// One call's per-turn latency breakdown (docs/architecture.md, "Latency"), for GET /calls/:sid/metrics and the
// load generator. Timestamps are given in ms since the call started, on the engine's clock.
import type { TurnLatency, TurnRecord } from '../call/turn-record.ts';

export interface CallLike {
  callSid: string;
  streamSid?: string;
  state: string;
  startedAt: number;
  turns: readonly TurnRecord[];
}

export interface TurnReport {
  index: number;
  source?: string;
  interrupted: boolean;
  /** Offsets from the call's start, ms. */
  at: { speechEnd: number; sttFinal?: number; responseStart?: number; ttsFirstByte?: number; firstAudioSent?: number };
  latency: TurnLatency;
  providerWaitMs: number;
  audioBytes: number;
}

export interface CallReport {
  callSid: string;
  streamSid?: string;
  state: string;
  durationMs: number;
  turns: TurnReport[];
  /** Over caller turns (greeting excluded). */
  summary: { turns: number; answered: number; interrupted: number; turnMs: { min: number | null; median: number | null; max: number | null } };
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export function callReport(s: CallLike, now = performance.now()): CallReport {
  const rel = (x: number | undefined) => (x === undefined ? undefined : r1(x - s.startedAt));
  const turns = s.turns.map<TurnReport>((t) => ({
    index: t.index,
    source: t.source,
    interrupted: t.interrupted,
    at: { speechEnd: r1(t.speechEnd - s.startedAt), sttFinal: rel(t.sttFinal), responseStart: rel(t.responseStart), ttsFirstByte: rel(t.ttsFirstByte), firstAudioSent: rel(t.firstAudioSent) },
    latency: { ...t.latency },
    providerWaitMs: r1(t.providerWaitMs),
    audioBytes: t.audioBytes,
  }));
  const caller = turns.filter((t) => t.index > 0);
  const lat = caller.map((t) => t.latency.turnMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  return {
    callSid: s.callSid,
    streamSid: s.streamSid || undefined,
    state: s.state,
    durationMs: r1(now - s.startedAt),
    turns,
    summary: {
      turns: caller.length,
      answered: lat.length,
      interrupted: caller.filter((t) => t.interrupted).length,
      turnMs: { min: lat[0] ?? null, median: lat.length ? lat[Math.floor((lat.length - 1) / 2)] : null, max: lat.at(-1) ?? null },
    },
  };
}
