// What the call history keeps of a call, built from what the call already publishes (started$,
// turnDone$, ended$) and from the registry's callbacks: plain rows for the write queue. Nothing
// here reads the network or the disk; redaction and masking happen in the store thread.
import { randomUUID } from 'node:crypto';
import { turnProviders, type TurnRecord } from '../call/turn-record.ts';
import type { CallRecord, RegistryEvent } from '../calls/registry.ts';
import { percentile } from '../calls/call-view.ts';
import type { CallUpsert, EventRow, HistoryOp, TurnRow } from './schema.ts';
import { qualityScore, turnOk } from './quality.ts';

/** A call as the recorder sees it (MediaCall and RelayCall both are). */
export interface RecordableCall {
  readonly mode: 'media' | 'relay';
  readonly callSid: string;
  readonly workflowId?: string;
  readonly language?: string;
  /** performance.now() when the call's socket opened. */
  readonly startedAt: number;
  readonly turns: readonly TurnRecord[];
  readonly errors: Partial<Record<string, number>>;
  readonly started$: { subscribe(fn: () => void): unknown };
  readonly turnDone$: { subscribe(fn: (t: TurnRecord) => void): unknown };
  readonly ended$: { subscribe(fn: (outcome: string) => void): unknown };
  /** Media Streams. */
  readonly streamSid?: string;
  /** ConversationRelay. */
  readonly sessionId?: string;
  readonly setupInfo?: { from?: string; to?: string; direction?: string };
  readonly core?: { dialogue?: { ctx: { parameters?: Record<string, string> } }; speculation?: object };
}

/** The customParameter POST /selftest sets on its calls, so history can tell them apart. */
export const SELFTEST_PARAMETER = 'weaver_selftest';

const wall = (perfMs: number) => Math.round(performance.timeOrigin + perfMs);
const nn = <T>(v: T | undefined | '') => (v === undefined || v === '' ? null : v);

export function leg(call: RecordableCall): string {
  return call.streamSid || call.sessionId || '';
}

/** The call row at its start: what the socket and the registry know. */
export function callStartRow(call: RecordableCall, record: CallRecord | undefined, instance: string): CallUpsert {
  const setup = call.setupInfo;
  const selftest = call.core?.dialogue?.ctx.parameters?.[SELFTEST_PARAMETER] !== undefined;
  return {
    sid: call.callSid,
    started_at: wall(call.startedAt),
    mode: call.mode,
    workflow: call.workflowId ?? null,
    direction: selftest ? 'selftest' : (nn(setup?.direction) ?? record?.direction ?? null),
    caller: nn(setup?.from) ?? record?.from ?? null,
    callee: nn(setup?.to) ?? record?.to ?? null,
    status: record?.status ?? null,
    language: call.language ?? null,
    languages: call.language ? `,${call.language},` : null,
    instance,
  };
}

export function turnRow(call: RecordableCall, t: TurnRecord, targetMs: number): TurnRow {
  const l = t.latency;
  const p = turnProviders(t);
  const names = (list?: string[]) => (list?.length ? list.join(', ') : null);
  const ok = turnOk(t, targetMs);
  return {
    call_sid: call.callSid,
    leg: leg(call),
    idx: t.index,
    at: wall(t.lastVoiceAt),
    offset_ms: Math.round((t.lastVoiceAt - call.startedAt) * 10) / 10,
    user_text: t.user ?? null,
    answer_text: t.answer ?? null,
    heard_text: t.interrupted ? (t.heard ?? '') : null,
    source: t.source ?? null,
    provider: names(p.providers.llm),
    stt_provider: names(p.providers.stt),
    tts_provider: names(p.providers.tts),
    hedges: p.hedges.length,
    hedged_to: p.hedges.length ? JSON.stringify(p.hedges) : null,
    failovers: p.failovers.length,
    failed_over_to: p.failovers.length ? JSON.stringify(p.failovers) : null,
    speculation: t.speculation ?? null,
    language: call.language ?? null,
    stt_language: t.sttLanguage ?? null,
    language_switch: t.languageSwitch ?? null,
    interrupted: t.interrupted ? 1 : 0,
    hangover_ms: l.hangoverMs ?? null,
    stt_ms: l.sttMs ?? null,
    response_ms: l.responseMs ?? null,
    tts_ms: l.ttsMs ?? null,
    send_ms: l.sendMs ?? null,
    turn_ms: l.turnMs ?? null,
    overhead_ms: l.overheadMs ?? null,
    audio_bytes: t.audioBytes,
    ok: ok === undefined ? null : ok ? 1 : 0,
  };
}

/** The call row at its end: outcome, languages, counts, latency summary and quality. */
export function callEndRow(call: RecordableCall, outcome: string, languages: Iterable<string>, targetMs: number, record: CallRecord | undefined): CallUpsert & { quality: number | null } {
  const caller = call.turns.filter((t) => t.index > 0);
  const ms = caller.map((t) => t.latency.turnMs).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  const ended = Date.now();
  const started = wall(call.startedAt);
  const langs = [...new Set(languages)];
  return {
    sid: call.callSid,
    started_at: started,
    ended_at: ended,
    duration_ms: ended - started,
    outcome,
    status: record?.status ?? null,
    direction: record?.direction ?? null,
    caller: record?.from ?? null,
    callee: record?.to ?? null,
    language: call.language ?? null,
    languages: langs.length ? `,${langs.join(',')},` : null,
    turns: caller.length,
    quality: qualityScore(call.turns.map((t) => turnOk(t, targetMs))),
    turn_p50_ms: ms.length ? percentile(ms, 50) : null,
    turn_p95_ms: ms.length ? percentile(ms, 95) : null,
    barge_ins: call.turns.filter((t) => t.interrupted).length,
    protocol_errors: Object.values(call.errors).reduce<number>((a, n) => a + (n ?? 0), 0),
  };
}

export function eventOp(callSid: string | null, kind: string, name: string, detail?: object, at = Date.now()): HistoryOp {
  const row: EventRow = { id: randomUUID(), call_sid: callSid, at, kind, name, detail: detail === undefined ? null : JSON.stringify(detail) };
  return { op: 'event', row };
}

/** A registry callback → its event, and what it tells of the call (direction, numbers, Twilio's status). */
export function registryOps(ev: RegistryEvent, instance: string): HistoryOp[] {
  const at = Date.parse(ev.event.receivedAt) || Date.now();
  const name = ev.kind === 'status' ? ev.event.status : ev.kind === 'stream' ? ev.event.event : (ev.event.sessionStatus ?? 'handoff');
  const r = ev.record;
  const call: CallUpsert = { sid: ev.callSid, started_at: at, direction: r.direction ?? null, caller: r.from ?? null, callee: r.to ?? null, status: r.status ?? null, workflow: r.workflow ?? null, mode: r.mode ?? null, instance };
  return [{ op: 'call', row: call }, eventOp(ev.callSid, ev.kind, name, ev.event, at)];
}
