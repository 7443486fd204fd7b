// One validation path for both call sockets. A message its protocol parser refused, or one out
// of order, is logged, counted for the call and in weaver_protocol_errors_total{transport,kind},
// and dropped: the call goes on. Fifty in a row close the socket (1008): that peer is not Twilio.
import type { Logger } from '../../adapters/kit/log.ts';
import type { Metrics } from '../metrics/registry.ts';

/** Consecutive bad messages after which the socket is closed instead of ignored. */
export const MAX_CONSECUTIVE_ERRORS = 50;

type Parsed<M, K> = { ok: true; msg: M } | { ok: false; error: { kind: K; message: string } };

export class InboundGuard<K extends string> {
  /** Rejections of this call by kind (the call's view and tests read them). */
  readonly errors: Partial<Record<K, number>> = {};
  private consecutive = 0;

  constructor(
    private readonly transport: 'media' | 'relay',
    private readonly metrics: Metrics,
    /** The call's logger as of now (it gains the call's ids at start). */
    private readonly log: () => Logger,
    /** Closes the socket after too many bad messages in a row. */
    private readonly tooMany: (reason: string) => void,
  ) {}

  /** The parsed message, or undefined after counting why it was refused. */
  accept<M>(r: Parsed<M, K>): M | undefined {
    if (r.ok) return r.msg;
    this.reject(r.error.kind, r.error.message);
    return undefined;
  }

  /** A valid message in the right order: the run of bad ones is over. */
  passed(): void {
    this.consecutive = 0;
  }

  reject(kind: K, message: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    this.metrics.protocolErrors.inc({ transport: this.transport, kind });
    this.log().warn({ kind }, `rejected ${this.transport} message: ${message}`);
    if (++this.consecutive >= MAX_CONSECUTIVE_ERRORS) this.tooMany(`${MAX_CONSECUTIVE_ERRORS} invalid messages in a row`);
  }
}
