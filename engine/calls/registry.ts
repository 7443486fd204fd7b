// What the engine knows about calls beyond their sockets: Twilio's call status and stream status
// callbacks, the ConversationRelay session end, the outbound request that placed a call, and the
// calls themselves (live and recent) of both kinds. Bounded; the engine owns one.
import { Subject } from 'rxjs';
import type { MediaCall } from '../call/media-call.ts';
import type { RelayCall } from '../call/relay-call.ts';
import { endedCall, type EndedCall } from './ended-call.ts';

export type CallMode = 'media' | 'relay';

export interface StatusEvent {
  /** Twilio's SequenceNumber (from 0); callbacks may arrive out of order. */
  sequence?: number;
  status: string;
  /** Twilio's Timestamp (RFC 2822). */
  timestamp?: string;
  durationS?: number;
  receivedAt: string;
}

export interface StreamEvent {
  streamSid: string;
  name?: string;
  /** stream-started | stream-stopped | stream-error */
  event: string;
  error?: string;
  timestamp?: string;
  receivedAt: string;
}

export interface CallRecord {
  callSid: string;
  direction?: string;
  workflow?: string;
  mode?: CallMode;
  to?: string;
  from?: string;
  createdAt: string;
  /** Status of the latest event by SequenceNumber, not by arrival. */
  status?: string;
  /** In Twilio's order (SequenceNumber), whatever order they arrived in. */
  statusEvents: StatusEvent[];
  streamEvents: StreamEvent[];
  /** From the <Connect action> request after a ConversationRelay session ends. */
  handoff?: { data?: string; sessionStatus?: string; sessionDurationS?: number; receivedAt: string };
}

/** Lifecycle rank: orders events that carry no SequenceNumber, and breaks ties. */
const RANK: Record<string, number> = { queued: 0, initiated: 1, ringing: 2, answered: 3, 'in-progress': 3, completed: 4, busy: 4, failed: 4, 'no-answer': 4, canceled: 4 };
const rank = (s: string) => RANK[s] ?? 2;

/** Twilio's order of status events, as recordStatus keeps them (engine/shared/ merges other instances' events with it). */
export const compareStatusEvents = (a: StatusEvent, b: StatusEvent): number => (a.sequence ?? -1) - (b.sequence ?? -1) || rank(a.status) - rank(b.status);

/** A callback the registry kept (not a duplicate), as the call history records it. */
export type RegistryEvent = { callSid: string; record: CallRecord } & ({ kind: 'status'; event: StatusEvent } | { kind: 'stream'; event: StreamEvent } | { kind: 'handoff'; event: NonNullable<CallRecord['handoff']> });

const intOrUndefined = (v: string | undefined): number | undefined => {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
};

export class CallRegistry {
  /** Recent Media Streams calls by callSid, the latest stream of each: live ones, and ended ones as summaries. */
  readonly recentMedia = new Map<string, MediaCall | EndedCall>();
  /** Recent relay calls by callSid: live ones, and ended ones as summaries. */
  readonly recentRelay = new Map<string, RelayCall | EndedCall>();
  private readonly records = new Map<string, CallRecord>();
  /** Every status, stream and handoff callback kept (engine/history/ records them). */
  readonly events$ = new Subject<RegistryEvent>();

  constructor(private readonly capacity = 1000) {}

  get(callSid: string): CallRecord | undefined {
    return this.records.get(callSid);
  }

  /** Creates or updates a call's record with what the engine learned (e.g. when placing it). */
  note(callSid: string, fields: Partial<Omit<CallRecord, 'callSid' | 'statusEvents' | 'streamEvents' | 'createdAt'>>): CallRecord {
    let r = this.records.get(callSid);
    if (!r) {
      r = { callSid, createdAt: new Date().toISOString(), statusEvents: [], streamEvents: [] };
      this.records.set(callSid, r);
      if (this.records.size > this.capacity) this.records.delete(this.records.keys().next().value!);
    }
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (r as unknown as Record<string, unknown>)[k] = v;
    return r;
  }

  /** A call status callback. Returns false for a duplicate (Twilio retries) or one without CallSid/CallStatus. */
  recordStatus(p: Record<string, string>): boolean {
    if (!p.CallSid || !p.CallStatus) return false;
    const r = this.note(p.CallSid, { direction: p.Direction, to: p.To, from: p.From });
    const e: StatusEvent = { sequence: intOrUndefined(p.SequenceNumber), status: p.CallStatus, timestamp: p.Timestamp, durationS: intOrUndefined(p.CallDuration), receivedAt: new Date().toISOString() };
    if (r.statusEvents.some((x) => x.sequence === e.sequence && x.status === e.status)) return false;
    r.statusEvents.push(e);
    // Stable sort: sequence first, then lifecycle rank, then arrival.
    r.statusEvents.sort((a, b) => (a.sequence ?? -1) - (b.sequence ?? -1) || rank(a.status) - rank(b.status));
    r.status = r.statusEvents[r.statusEvents.length - 1].status;
    this.events$.next({ callSid: r.callSid, record: r, kind: 'status', event: e });
    return true;
  }

  /** A <Stream statusCallback> event (Media Streams). */
  recordStream(p: Record<string, string>): boolean {
    if (!p.CallSid || !p.StreamEvent || !p.StreamSid) return false;
    const r = this.note(p.CallSid, {});
    const e: StreamEvent = { streamSid: p.StreamSid, name: p.StreamName || undefined, event: p.StreamEvent, error: p.StreamError || undefined, timestamp: p.Timestamp, receivedAt: new Date().toISOString() };
    if (r.streamEvents.some((x) => x.streamSid === e.streamSid && x.event === e.event && x.timestamp === e.timestamp)) return false;
    r.streamEvents.push(e);
    const t = (x: StreamEvent) => (x.timestamp ? Date.parse(x.timestamp) : NaN);
    r.streamEvents.sort((a, b) => (Number.isNaN(t(a)) || Number.isNaN(t(b)) ? 0 : t(a) - t(b)));
    this.events$.next({ callSid: r.callSid, record: r, kind: 'stream', event: e });
    return true;
  }

  /** The <Connect action> request that follows a ConversationRelay session. */
  recordHandoff(p: Record<string, string>): boolean {
    if (!p.CallSid) return false;
    const r = this.note(p.CallSid, {});
    r.handoff = { data: p.HandoffData, sessionStatus: p.SessionStatus, sessionDurationS: intOrUndefined(p.SessionDuration), receivedAt: new Date().toISOString() };
    this.events$.next({ callSid: r.callSid, record: r, kind: 'handoff', event: r.handoff });
    return true;
  }

  /**
   * Keeps a started call for /calls/:sid and tests, the oldest dropped past capacity. Once it ends
   * only its summary stays (ended-call.ts): a whole ended call held its pipeline and buffers, and
   * a thousand of them per kind took hundreds of MB.
   */
  remember(call: MediaCall | RelayCall): void {
    const recent: Map<string, MediaCall | RelayCall | EndedCall> = call.mode === 'media' ? this.recentMedia : this.recentRelay;
    recent.delete(call.callSid);
    recent.set(call.callSid, call);
    if (recent.size > this.capacity) recent.delete(recent.keys().next().value!);
    call.ended$.subscribe(() => {
      // Replaced in place (the map keeps its order), unless a newer stream of the call took the slot.
      if (recent.get(call.callSid) === call) recent.set(call.callSid, endedCall(call));
    });
  }
}
