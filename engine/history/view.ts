// Stored rows as the API shows them: a call summary for lists, a call with its turns and events
// in the shape GET /calls/:sid gives for a live call (engine/calls/call-view.ts) plus what only
// the history has (quality, offsets, every event), and the CSV export.
import type { TurnLatency } from '../call/turn-record.ts';
import { summarise, type CallView, type TurnRoutes } from '../calls/call-view.ts';
import type { CallDetail } from './store.ts';
import type { CallRow, EventRow, TurnRow } from './schema.ts';

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
const opt = <T>(v: T | null) => (v === null ? undefined : v);

export interface CallSummary {
  callSid: string;
  mode?: string;
  workflow?: string;
  direction?: string;
  from?: string;
  to?: string;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  outcome?: string;
  status?: string;
  language?: string;
  languages: string[];
  instance?: string;
  turns?: number;
  /** 0–100 (engine/history/quality.ts). */
  quality?: number;
  turnP50Ms?: number;
  turnP95Ms?: number;
  bargeIns?: number;
  protocolErrors?: number;
}

export function callSummary(r: CallRow): CallSummary {
  return {
    callSid: r.sid,
    mode: opt(r.mode),
    workflow: opt(r.workflow),
    direction: opt(r.direction),
    from: opt(r.caller),
    to: opt(r.callee),
    startedAt: iso(r.started_at)!,
    endedAt: iso(r.ended_at),
    durationMs: opt(r.duration_ms),
    outcome: opt(r.outcome),
    status: opt(r.status),
    language: opt(r.language),
    languages: (r.languages ?? '').split(',').filter(Boolean),
    instance: opt(r.instance),
    turns: opt(r.turns),
    quality: opt(r.quality),
    turnP50Ms: opt(r.turn_p50_ms),
    turnP95Ms: opt(r.turn_p95_ms),
    bargeIns: opt(r.barge_ins),
    protocolErrors: opt(r.protocol_errors),
  };
}

export function turnLatency(t: TurnRow): TurnLatency {
  const l: TurnLatency = {};
  const put = (k: keyof TurnLatency, v: number | null) => {
    if (v !== null) l[k] = v;
  };
  put('hangoverMs', t.hangover_ms);
  put('sttMs', t.stt_ms);
  put('responseMs', t.response_ms);
  put('ttsMs', t.tts_ms);
  put('sendMs', t.send_ms);
  put('turnMs', t.turn_ms);
  put('overheadMs', t.overhead_ms);
  return l;
}

/** A JSON list column; a value that does not parse reads as empty (the row is still shown). */
function jsonList<T>(v: string | null): T[] {
  if (v === null) return [];
  try {
    const x: unknown = JSON.parse(v);
    return Array.isArray(x) ? (x as T[]) : [];
  } catch {
    return [];
  }
}

export function storedRoutes(t: TurnRow): TurnRoutes {
  const providers: TurnRoutes['providers'] = {};
  if (t.stt_provider) providers.stt = t.stt_provider;
  if (t.provider) providers.llm = t.provider;
  if (t.tts_provider) providers.tts = t.tts_provider;
  const hedgedTo = jsonList<TurnRoutes['hedgedTo'][number]>(t.hedged_to);
  const failedOverTo = jsonList<TurnRoutes['failedOverTo'][number]>(t.failed_over_to);
  return { providers, hedges: t.hedges ?? hedgedTo.length, hedgedTo, failovers: t.failovers ?? failedOverTo.length, failedOverTo, speculation: opt(t.speculation) };
}

export function storedTurn(t: TurnRow) {
  return {
    index: t.idx,
    leg: t.leg || undefined,
    at: iso(t.at)!,
    offsetMs: opt(t.offset_ms),
    user: opt(t.user_text),
    answer: opt(t.answer_text),
    source: opt(t.source),
    ...storedRoutes(t),
    interrupted: t.interrupted === 1,
    heard: opt(t.heard_text),
    language: opt(t.language),
    sttLanguage: opt(t.stt_language),
    languageSwitch: opt(t.language_switch),
    ok: t.ok === null ? undefined : t.ok === 1,
    latency: turnLatency(t),
  };
}

export function storedEvent(e: EventRow) {
  let detail: unknown;
  try {
    detail = e.detail === null ? undefined : JSON.parse(e.detail);
  } catch {
    detail = e.detail;
  }
  return { at: iso(e.at)!, kind: e.kind, name: e.name, detail };
}

const STAGES: Array<keyof TurnLatency> = ['turnMs', 'sttMs', 'responseMs', 'ttsMs', 'sendMs', 'overheadMs', 'hangoverMs'];

/** A stored call in GET /calls/:sid's shape (CallView), with the history's extras. */
export function storedCallView(d: CallDetail) {
  const turns = d.turns.map(storedTurn);
  const latency: CallView['latency'] = {};
  for (const stage of STAGES) {
    const s = summarise(turns.filter((t) => t.index > 0).map((t) => t.latency[stage]).filter((v): v is number => typeof v === 'number'));
    if (s) latency[stage] = s;
  }
  const events = d.events.map(storedEvent);
  const detailOf = (kind: string) => events.filter((e) => e.kind === kind).map((e) => e.detail as object);
  const handoff = detailOf('handoff').at(-1) as CallView['handoff'];
  return {
    ...callSummary(d.call),
    stored: true as const,
    sessionState: d.call.ended_at === null ? undefined : 'ended',
    statusEvents: detailOf('status') as CallView['statusEvents'],
    streamEvents: detailOf('stream') as CallView['streamEvents'],
    handoff,
    turns,
    latency,
    events,
  };
}

// ------------------------------------------------------------------ CSV

const CSV_CALL_COLUMNS: Array<keyof CallSummary> = ['callSid', 'startedAt', 'endedAt', 'durationMs', 'mode', 'workflow', 'direction', 'from', 'to', 'outcome', 'status', 'language', 'languages', 'turns', 'quality', 'turnP50Ms', 'turnP95Ms', 'bargeIns', 'protocolErrors', 'instance'];
const CSV_TURN_COLUMNS = ['callSid', 'index', 'at', 'source', 'language', 'languageSwitch', 'interrupted', 'ok', 'hangoverMs', 'sttMs', 'responseMs', 'ttsMs', 'sendMs', 'turnMs', 'overheadMs', 'sttProvider', 'llmProvider', 'ttsProvider', 'hedges', 'hedgedTo', 'failovers', 'failedOverTo', 'speculation', 'user', 'answer', 'heard'] as const;

/** "llm openai-a→openai-b; tts espeak→polly (mid-answer)": a route list in one CSV field. */
const csvMoves = (list: Array<{ role: string; from: string; to: string; midStream?: boolean }>) => list.map((m) => `${m.role} ${m.from}→${m.to}${m.midStream ? ' (mid-answer)' : ''}`).join('; ');

/** RFC 4180 field; a leading =, +, - or @ is prefixed with ' so a spreadsheet does not run it as a formula. */
export function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  let s = Array.isArray(v) ? v.join(' ') : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const csvLine = (fields: unknown[]) => fields.map(csvField).join(',') + '\r\n';

export const csvCallsHeader = () => csvLine(CSV_CALL_COLUMNS);
export const csvCallRow = (r: CallRow) => {
  const s = callSummary(r);
  return csvLine(CSV_CALL_COLUMNS.map((k) => s[k]));
};
export const csvTurnsHeader = () => csvLine([...CSV_TURN_COLUMNS]);
export const csvTurnRow = (t: TurnRow) => {
  const v = storedTurn(t);
  const row: Record<(typeof CSV_TURN_COLUMNS)[number], unknown> = {
    callSid: t.call_sid,
    index: v.index,
    at: v.at,
    source: v.source,
    language: v.language,
    languageSwitch: v.languageSwitch,
    interrupted: v.interrupted,
    ok: v.ok,
    hangoverMs: v.latency.hangoverMs,
    sttMs: v.latency.sttMs,
    responseMs: v.latency.responseMs,
    ttsMs: v.latency.ttsMs,
    sendMs: v.latency.sendMs,
    turnMs: v.latency.turnMs,
    overheadMs: v.latency.overheadMs,
    sttProvider: v.providers.stt,
    llmProvider: v.providers.llm,
    ttsProvider: v.providers.tts,
    hedges: v.hedges,
    hedgedTo: csvMoves(v.hedgedTo),
    failovers: v.failovers,
    failedOverTo: csvMoves(v.failedOverTo),
    speculation: v.speculation,
    user: v.user,
    answer: v.answer,
    heard: v.heard,
  };
  return csvLine(CSV_TURN_COLUMNS.map((k) => row[k]));
};
