// The call registry shared between instances: each call's owner instance, mode, workflow and state,
// the status-callback events any instance received, and its turn summaries, kept in Redis with a
// TTL (REDIS_CALL_TTL_S). So GET /calls/:sid answers from any instance, a Twilio status callback
// may land on any instance, and an outbound call placed through one is known to all. Every write
// is fire-and-forget (RedisLink); the local registry stays the source for the calls held here.
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { compareStatusEvents, type CallMode, type CallRecord, type CallRegistry, type RegistryEvent, type StatusEvent, type StreamEvent } from '../calls/registry.ts';
import { callView, type CallView, type SessionLike } from '../calls/call-view.ts';
import type { TurnRecord } from '../call/turn-record.ts';
import type { RedisLink } from './redis-link.ts';

/** What the shared registry follows of a call (both transports have it). */
export interface SharedCallSource {
  readonly callSid: string;
  readonly mode: CallMode;
  readonly state: string;
  readonly workflowId: string | undefined;
  readonly outcome?: string;
  readonly started$: { subscribe(fn: () => void): unknown };
  readonly turnDone$: { subscribe(fn: (t: TurnRecord) => void): unknown };
  readonly ended$: { subscribe(fn: (outcome: string) => void): unknown };
}

/** A call as Redis holds it. */
export interface SharedCallRecord {
  owner?: string;
  mode?: CallMode;
  workflow?: string;
  state?: string;
  outcome?: string;
  direction?: string;
  to?: string;
  from?: string;
  status?: string;
  createdAt?: string;
  updatedAt?: string;
  statusEvents: StatusEvent[];
  streamEvents: StreamEvent[];
  handoff?: CallRecord['handoff'];
  turns: Array<Pick<TurnRecord, 'index' | 'user' | 'answer' | 'source' | 'interrupted' | 'heard' | 'languageSwitch' | 'latency'>>;
}

/** GET /calls/:sid's answer with the instance that holds (or held) the call. */
export type SharedCallView = CallView & { owner?: string };

type Fields = Partial<Record<'owner' | 'mode' | 'workflow' | 'state' | 'outcome' | 'direction' | 'to' | 'from' | 'status' | 'createdAt', string>>;

export class SharedCalls {
  private readonly ttl: number;

  constructor(
    private readonly link: RedisLink,
    cfg: Config,
    /** This instance's name in `owner`. */
    readonly instance: string,
    private readonly log: Logger,
  ) {
    this.ttl = cfg.REDIS_CALL_TTL_S;
  }

  /** Shares every callback the local registry keeps. */
  follow(registry: CallRegistry): void {
    registry.events$.subscribe((ev) => this.event(ev));
  }

  /** Shares a call's owner and state, its turn summaries and its end. */
  attach(call: SharedCallSource): void {
    call.started$.subscribe(() => this.set(call.callSid, { owner: this.instance, mode: call.mode, workflow: call.workflowId, state: call.state, createdAt: new Date().toISOString() }));
    call.turnDone$.subscribe((t) => {
      const summary = { index: t.index, user: t.user, answer: t.answer, source: t.source, interrupted: t.interrupted, heard: t.heard, languageSwitch: t.languageSwitch, latency: t.latency };
      const k = this.key(call.callSid);
      this.link.write('call-turn', (r) =>
        r
          .multi()
          .rpush(`${k}:turns`, JSON.stringify(summary))
          .expire(`${k}:turns`, this.ttl)
          .hset(k, { state: call.state, updatedAt: new Date().toISOString() })
          .expire(k, this.ttl)
          .exec(),
      );
    });
    call.ended$.subscribe((outcome) => this.set(call.callSid, { state: 'ended', outcome }));
  }

  /** What the engine learned about a call itself (an outbound call it placed). */
  noted(callSid: string, fields: Partial<Pick<CallRecord, 'direction' | 'workflow' | 'mode' | 'to' | 'from' | 'status'>>): void {
    this.set(callSid, { ...fields, createdAt: new Date().toISOString() });
  }

  /** The shared record of a call; undefined when Redis has none or cannot answer now. */
  async get(callSid: string): Promise<SharedCallRecord | undefined> {
    const k = this.key(callSid);
    const res = await this.link.read('call-get', (r) => r.multi().hgetall(k).lrange(`${k}:events`, 0, -1).lrange(`${k}:turns`, 0, -1).exec());
    if (!res) return undefined;
    const [[e1, hash], [e2, events], [e3, turns]] = res as [[Error | null, Record<string, string>], [Error | null, string[]], [Error | null, string[]]];
    if (e1 || e2 || e3) return undefined;
    if (Object.keys(hash).length === 0 && events.length === 0 && turns.length === 0) return undefined;
    const rec: SharedCallRecord = { ...(hash as Fields), mode: hash.mode as CallMode | undefined, statusEvents: [], streamEvents: [], turns: [] };
    for (const raw of events) {
      try {
        const ev = JSON.parse(raw) as Pick<RegistryEvent, 'kind' | 'event'>;
        if (ev.kind === 'status') rec.statusEvents.push(ev.event as StatusEvent);
        else if (ev.kind === 'stream') rec.streamEvents.push(ev.event as StreamEvent);
        else if (ev.kind === 'handoff') rec.handoff = ev.event as CallRecord['handoff'];
      } catch {
        this.log.debug({ callSid }, 'unreadable shared call event skipped');
      }
    }
    for (const raw of turns) {
      try {
        rec.turns.push(JSON.parse(raw));
      } catch {
        this.log.debug({ callSid }, 'unreadable shared turn skipped');
      }
    }
    return rec;
  }

  /**
   * GET /calls/:sid from any instance: what this instance knows (its record, its session) joined
   * with what the others shared. Undefined when neither knows the call.
   */
  async view(callSid: string, record: CallRecord | undefined, session: SessionLike | undefined, mode: CallMode | undefined, workflow?: string): Promise<SharedCallView | undefined> {
    const shared = await this.get(callSid);
    if (!shared && !record && !session) return undefined;
    const merged = mergeRecord(callSid, record, shared);
    const remoteSession: SessionLike | undefined = shared && !session ? { state: shared.state ?? 'unknown', turns: shared.turns as TurnRecord[], history: [] } : undefined;
    const v: SharedCallView = callView(callSid, merged, session ?? remoteSession, mode ?? shared?.mode, workflow ?? shared?.workflow);
    if (!session) delete v.history; // the conversation itself stays on the instance that held the call
    v.owner = session ? this.instance : shared?.owner;
    return v;
  }

  private event(ev: RegistryEvent): void {
    const k = this.key(ev.callSid);
    const fields: Fields = { direction: ev.record.direction, to: ev.record.to, from: ev.record.from, status: ev.record.status };
    this.link.write('call-event', (r) =>
      r
        .multi()
        .rpush(`${k}:events`, JSON.stringify({ kind: ev.kind, event: ev.event }))
        .expire(`${k}:events`, this.ttl)
        .hset(k, defined({ ...fields, updatedAt: new Date().toISOString() }))
        .expire(k, this.ttl)
        .exec(),
    );
  }

  private set(callSid: string, fields: Fields): void {
    const k = this.key(callSid);
    const f = defined({ ...fields, updatedAt: new Date().toISOString() });
    this.link.write('call-state', (r) => r.multi().hset(k, f).expire(k, this.ttl).exec());
  }

  private key(callSid: string): string {
    return this.link.key('call', callSid);
  }
}

/** This instance's record joined with the shared one: callbacks from every instance, each once, in Twilio's order. */
export function mergeRecord(callSid: string, local: CallRecord | undefined, shared: SharedCallRecord | undefined): CallRecord {
  const statusEvents = dedupe([...(local?.statusEvents ?? []), ...(shared?.statusEvents ?? [])], (e) => `${e.sequence}|${e.status}`).sort(compareStatusEvents);
  const t = (x: StreamEvent) => (x.timestamp ? Date.parse(x.timestamp) : NaN);
  const streamEvents = dedupe([...(local?.streamEvents ?? []), ...(shared?.streamEvents ?? [])], (e) => `${e.streamSid}|${e.event}|${e.timestamp}`).sort((a, b) => (Number.isNaN(t(a)) || Number.isNaN(t(b)) ? 0 : t(a) - t(b)));
  return {
    callSid,
    direction: local?.direction ?? shared?.direction,
    workflow: local?.workflow ?? shared?.workflow,
    mode: local?.mode ?? shared?.mode,
    to: local?.to ?? shared?.to,
    from: local?.from ?? shared?.from,
    createdAt: local?.createdAt ?? shared?.createdAt ?? new Date().toISOString(),
    status: statusEvents.length ? statusEvents[statusEvents.length - 1].status : (local?.status ?? shared?.status),
    statusEvents,
    streamEvents,
    handoff: local?.handoff ?? shared?.handoff,
  };
}

function dedupe<T>(xs: T[], id: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => !seen.has(id(x)) && (seen.add(id(x)), true));
}

function defined(o: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
