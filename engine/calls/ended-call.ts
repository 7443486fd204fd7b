// What the call registry keeps of a call once it has ended: the fields GET /calls/:sid,
// /calls/:sid/metrics, the dashboard's live view and the self-test read, and nothing of the call's
// pipeline (its socket, RxJS subjects, playout and DSP state, providers' streams, loggers). The
// registry holds up to its capacity of ended calls per kind, so each one must cost little.
import type { ChatMessage } from '../../adapters/kit/types.ts';
import type { TurnRecord } from '../call/turn-record.ts';
import type { MediaCall } from '../call/media-call.ts';
import type { RelayCall } from '../call/relay-call.ts';

export interface EndedCall {
  readonly mode: 'media' | 'relay';
  readonly callSid: string;
  /** Media Streams: the stream's sid. */
  readonly streamSid?: string;
  /** ConversationRelay: the session's id. */
  readonly sessionId?: string;
  readonly workflowId: string | undefined;
  readonly state: 'ended';
  readonly outcome: string | undefined;
  /** On the engine's monotonic clock (performance.now()), as a live call's. */
  readonly startedAt: number;
  readonly language: string | undefined;
  /** The call's own turn records (the same array: a turn finishing as the call ends still lands in it). */
  readonly turns: TurnRecord[];
  /** The conversation, as the live call had it. */
  readonly history: ChatMessage[];
  readonly errors: Readonly<Record<string, number>>;
  readonly speculation: Readonly<{ started: number; adopted: number; discarded: number }>;
}

export function endedCall(call: MediaCall | RelayCall): EndedCall {
  return {
    mode: call.mode,
    callSid: call.callSid,
    ...(call.mode === 'media' ? { streamSid: call.streamSid } : { sessionId: call.sessionId }),
    workflowId: call.workflowId,
    state: 'ended',
    outcome: call.outcome,
    startedAt: call.startedAt,
    language: call.language,
    turns: call.turns,
    history: [...call.history],
    errors: { ...call.errors },
    speculation: { ...call.core.speculation },
  };
}
