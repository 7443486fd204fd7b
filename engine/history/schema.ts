// The call history's one schema (SQLite and PostgreSQL alike; migrations.ts creates it): a row
// per call, a row per turn, a row per event. Times are Unix milliseconds; stage latencies are the
// turn record's (engine/call/turn-record.ts, docs/architecture.md "Latency"), in ms; booleans are
// integers 0/1 so both databases read them the same way.

export interface CallsTable {
  /** Twilio's CallSid. */
  sid: string;
  mode: string | null;
  workflow: string | null;
  /** inbound | outbound-api | outbound-dial | selftest (a POST /selftest call). */
  direction: string | null;
  /** From / To, masked when HISTORY_MASK_NUMBERS is on. */
  caller: string | null;
  callee: string | null;
  /** The earliest the engine knew of the call (its socket's start, or a status callback). */
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  /** How the call ended on this engine: hangup, agent-hangup, socket-closed, protocol, error, shutdown… */
  outcome: string | null;
  /** Twilio's call status, latest by SequenceNumber. */
  status: string | null;
  /** The conversation's language at the end. */
  language: string | null;
  /** Every language the call used, as ",en-US,es-ES," (delimited so a LIKE finds one exactly). */
  languages: string | null;
  instance: string | null;
  /** Caller turns (the greeting not counted). */
  turns: number | null;
  /** 0–100: share of caller turns answered within the target with no error, fallback or cut-off (quality.ts). */
  quality: number | null;
  turn_p50_ms: number | null;
  turn_p95_ms: number | null;
  barge_ins: number | null;
  protocol_errors: number | null;
}

export interface TurnsTable {
  call_sid: string;
  /** The stream (Media Streams streamSid) or session (relay sessionId) the turn belongs to. */
  leg: string;
  idx: number;
  /** When the caller stopped speaking (the greeting: when it started), Unix ms. */
  at: number;
  /** Same moment, ms since the call's start on this engine (the inspector's time axis). */
  offset_ms: number | null;
  user_text: string | null;
  answer_text: string | null;
  /** On barge-in: the part of the answer the caller heard. */
  heard_text: string | null;
  /** greeting | cache-exact | cache-semantic | llm | fallback (and any source added later). */
  source: string | null;
  /**
   * The LLM provider whose answer the caller got (several, comma-separated, when one finished
   * another's answer); null when no LLM answered (a cache hit, the greeting). The same for
   * stt_provider (Media Streams) and tts_provider (Media Streams, every sentence's).
   */
  provider: string | null;
  stt_provider: string | null;
  tts_provider: string | null;
  /** Hedges fired over all the turn's provider requests; hedged_to lists them, JSON [{role, from, to}]. */
  hedges: number | null;
  hedged_to: string | null;
  /** Failovers (an error, a timeout or a stall); failed_over_to lists them, JSON [{role, from, to, midStream}]. */
  failovers: number | null;
  failed_over_to: string | null;
  /** none | hit | wasted | contradicted (engine/call/turn-record.ts); null for the greeting and rows older than the field. */
  speculation: string | null;
  /** The conversation's language for this turn; the STT's reported one; "en-US→es-ES" on a switch. */
  language: string | null;
  stt_language: string | null;
  language_switch: string | null;
  interrupted: number;
  hangover_ms: number | null;
  stt_ms: number | null;
  response_ms: number | null;
  tts_ms: number | null;
  send_ms: number | null;
  turn_ms: number | null;
  overhead_ms: number | null;
  audio_bytes: number | null;
  /** 1 answered within the target with no error, fallback or cut-off; 0 not; null for the greeting. */
  ok: number | null;
}

export interface EventsTable {
  id: string;
  /** Null for engine-wide events (alerts). */
  call_sid: string | null;
  at: number;
  /** status | stream | handoff | protocol_errors | alert | quality | selftest */
  kind: string;
  /** e.g. the call status, stream-started, turn_p95_over_target raised. */
  name: string;
  /** JSON. */
  detail: string | null;
}

export interface HistoryDatabase {
  calls: CallsTable;
  turns: TurnsTable;
  events: EventsTable;
}

export type CallRow = CallsTable;
export type TurnRow = TurnsTable;
export type EventRow = EventsTable;

/** A partial call row: fields left undefined keep what the store has (started_at: the earliest wins). */
export type CallUpsert = Pick<CallsTable, 'sid' | 'started_at'> & Partial<Omit<CallsTable, 'sid' | 'started_at'>>;

/** One record for the store, as the write queue carries it. */
export type HistoryOp = { op: 'call'; row: CallUpsert } | { op: 'turn'; row: TurnRow } | { op: 'event'; row: EventRow };
