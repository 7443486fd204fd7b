// GET /calls/:sid's answer: a call's status record joined with its session's turns and a
// per-stage latency breakdown (docs/architecture.md, "Latency" names; percentiles, never only means).
import type { ChatMessage } from '../../adapters/kit/types.ts';
import { turnProviders, type TurnLatency, type TurnProviders, type TurnRecord } from '../call/turn-record.ts';
import type { CallRecord, CallMode } from './registry.ts';

/** The parts of a media or relay session a view needs. */
export interface SessionLike {
  state: string;
  turns: TurnRecord[];
  history: readonly ChatMessage[];
}

export interface StageSummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Which providers served a turn and what it took, as the API gives it for a live or a stored turn. */
export interface TurnRoutes {
  /** Per role, the provider that served it (several, comma-separated, when more than one did). */
  providers: { stt?: string; llm?: string; tts?: string };
  hedges: number;
  hedgedTo: TurnProviders['hedges'];
  failovers: number;
  failedOverTo: TurnProviders['failovers'];
  /** none | hit | wasted | contradicted; absent on the greeting. */
  speculation?: string;
}

export function turnRoutes(t: TurnRecord): TurnRoutes {
  const p = turnProviders(t);
  const providers: TurnRoutes['providers'] = {};
  for (const role of ['stt', 'llm', 'tts'] as const) if (p.providers[role]?.length) providers[role] = p.providers[role]!.join(', ');
  return { providers, hedges: p.hedges.length, hedgedTo: p.hedges, failovers: p.failovers.length, failedOverTo: p.failovers, speculation: t.speculation };
}

export interface CallView {
  callSid: string;
  mode?: CallMode;
  workflow?: string;
  direction?: string;
  to?: string;
  from?: string;
  status?: string;
  /** The session's state (listening, speaking, ended…), when this instance served the call. */
  sessionState?: string;
  statusEvents: CallRecord['statusEvents'];
  streamEvents: CallRecord['streamEvents'];
  handoff?: CallRecord['handoff'];
  turns: Array<
    {
      index: number;
      user?: string;
      answer?: string;
      source?: string;
      interrupted: boolean;
      heard?: string;
      languageSwitch?: string;
      latency: TurnLatency;
    } & TurnRoutes
  >;
  /** Over the caller's turns (not the greeting). In relay mode turnMs = prompt received → first token sent. */
  latency: Partial<Record<keyof TurnLatency, StageSummary>>;
  history?: ChatMessage[];
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarise(values: number[]): StageSummary | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s[s.length - 1] };
}

const STAGES: Array<keyof TurnLatency> = ['turnMs', 'sttMs', 'responseMs', 'ttsMs', 'sendMs', 'overheadMs', 'hangoverMs'];

export function callView(callSid: string, record: CallRecord | undefined, session: SessionLike | undefined, mode: CallMode | undefined, workflow?: string): CallView {
  const turns = session?.turns ?? [];
  const latency: CallView['latency'] = {};
  const callerTurns = turns.filter((t) => t.index > 0);
  for (const stage of STAGES) {
    const s = summarise(callerTurns.map((t) => t.latency[stage]).filter((v): v is number => typeof v === 'number'));
    if (s) latency[stage] = s;
  }
  return {
    callSid,
    mode: record?.mode ?? mode,
    workflow: record?.workflow ?? workflow,
    direction: record?.direction,
    to: record?.to,
    from: record?.from,
    status: record?.status,
    sessionState: session?.state,
    statusEvents: record?.statusEvents ?? [],
    streamEvents: record?.streamEvents ?? [],
    handoff: record?.handoff,
    turns: turns.map((t) => ({
      index: t.index,
      user: t.user,
      answer: t.answer,
      source: t.source,
      interrupted: t.interrupted,
      heard: t.heard,
      languageSwitch: t.languageSwitch,
      ...turnRoutes(t),
      latency: t.latency,
    })),
    latency,
    history: session?.history.filter((m) => m.role !== 'system'),
  };
}
