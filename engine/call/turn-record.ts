// Per-turn timestamps on one monotonic clock (performance.now()), named as in docs/architecture.md, "Latency":
// speechEnd → sttFinal → responseStart → ttsFirstByte → firstAudioSent (docs/architecture.md).
import type { Metrics } from '../metrics/registry.ts';
import type { Route, RouteRole } from '../providers/route.ts';

export type ResponseSource = 'greeting' | 'cache-exact' | 'cache-semantic' | 'llm' | 'fallback';

/**
 * What became of speculation for a caller turn: none (nothing speculated); hit (the final input
 * adopted the speculative answer); contradicted (one was running on other words than the final
 * input's, and was thrown away); wasted (thrown away for another reason: it had the final's words
 * but the language or the context had moved on, or none was running at the final input but some
 * had started and been dropped since the previous one).
 */
export type SpeculationOutcome = 'none' | 'hit' | 'wasted' | 'contradicted';

export interface TurnLatency {
  /** firstAudioSent − speechEnd: what the caller feels, less the network. */
  turnMs?: number;
  sttMs?: number;
  /** sttFinal (or speechEnd) → responseStart: cache lookup or LLM first token. */
  responseMs?: number;
  /** responseStart → ttsFirstByte (0 for cached audio). */
  ttsMs?: number;
  /** ttsFirstByte → firstAudioSent. */
  sendMs?: number;
  /** Turn latency less the time spent waiting on providers on the critical path. */
  overheadMs?: number;
  /** speechEnd − lastVoiceAt: the endpointing hangover the caller also waits through. */
  hangoverMs?: number;
}

export interface TurnRecord {
  index: number;
  user?: string;
  answer?: string;
  source?: ResponseSource;
  sttLanguage?: string;
  languageSwitch?: string;
  lastVoiceAt: number;
  speechEnd: number;
  sttFinal?: number;
  responseStart?: number;
  ttsFirstByte?: number;
  firstAudioSent?: number;
  /** Provider waits on the critical path (STT, LLM to first sentence, TTS first byte). */
  providerWaitMs: number;
  audioBytes: number;
  /** Audio sent since the last mark (internal bookkeeping). */
  pendingBytes: number;
  interrupted: boolean;
  /** On barge-in: the part of the answer the caller heard. */
  heard?: string;
  /** Every provider chain request of the turn (STT, LLM, each TTS sentence), filled in by the chains as they run. */
  routes: Route[];
  /** What became of speculation for this caller turn (unset on the greeting). */
  speculation?: SpeculationOutcome;
  latency: TurnLatency;
}

/** Per role, the providers that served a turn (in order, once each) and the hedges and failovers it took. */
export interface TurnProviders {
  providers: Partial<Record<RouteRole, string[]>>;
  hedges: Array<{ role: RouteRole; from: string; to: string }>;
  failovers: Array<{ role: RouteRole; from: string; to: string; midStream: boolean }>;
}

export function turnProviders(t: Pick<TurnRecord, 'routes'>): TurnProviders {
  const out: TurnProviders = { providers: {}, hedges: [], failovers: [] };
  for (const r of t.routes ?? []) {
    for (const name of r.providers) {
      const list = (out.providers[r.role] ??= []);
      if (!list.includes(name)) list.push(name);
    }
    out.hedges.push(...r.hedges.map((h) => ({ role: r.role, ...h })));
    out.failovers.push(...r.failovers.map((f) => ({ role: r.role, ...f })));
  }
  return out;
}

export function newTurn(index: number, speechEnd: number, lastVoiceAt: number): TurnRecord {
  return { index, speechEnd, lastVoiceAt, providerWaitMs: 0, audioBytes: 0, pendingBytes: 0, interrupted: false, routes: [], latency: {} };
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export function finishTurn(t: TurnRecord): TurnLatency {
  const l: TurnLatency = { hangoverMs: r1(t.speechEnd - t.lastVoiceAt) };
  const heardFrom = t.sttFinal ?? t.speechEnd;
  if (t.sttFinal !== undefined) l.sttMs = r1(t.sttFinal - t.speechEnd);
  if (t.responseStart !== undefined) l.responseMs = r1(t.responseStart - heardFrom);
  if (t.responseStart !== undefined && t.ttsFirstByte !== undefined) l.ttsMs = r1(t.ttsFirstByte - t.responseStart);
  if (t.ttsFirstByte !== undefined && t.firstAudioSent !== undefined) l.sendMs = r1(t.firstAudioSent - t.ttsFirstByte);
  if (t.firstAudioSent !== undefined && t.index > 0) {
    l.turnMs = r1(t.firstAudioSent - t.speechEnd);
    l.overheadMs = r1(Math.max(0, l.turnMs - t.providerWaitMs));
  }
  t.latency = l;
  return l;
}

/** Closes a turn record and feeds the per-stage latency histograms. */
export function recordTurn(metrics: Metrics, rec: TurnRecord, mode: 'media' | 'relay'): void {
  finishTurn(rec);
  if (rec.source) metrics.turns.inc({ source: rec.source });
  const l = rec.latency;
  if (l.turnMs === undefined) return;
  metrics.stageMs.observe({ stage: 'turn', mode }, l.turnMs);
  if (l.overheadMs !== undefined) metrics.stageMs.observe({ stage: 'overhead', mode }, l.overheadMs);
  if (l.sttMs !== undefined) metrics.stageMs.observe({ stage: 'stt', mode }, l.sttMs);
  if (l.responseMs !== undefined) metrics.stageMs.observe({ stage: 'response', mode }, l.responseMs);
  if (l.ttsMs !== undefined) metrics.stageMs.observe({ stage: 'tts', mode }, l.ttsMs);
}
