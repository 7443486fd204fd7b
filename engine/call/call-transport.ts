// What both transports share around the call core: the core itself, the one validation path for
// socket messages (InboundGuard), and the call's face to the engine (LiveCall) and to tests and
// routes (state, turns, history, errors…). A transport adds its wire format: how messages are
// read, and how an answer is spoken (CallOutput).
import type { Observable } from 'rxjs';
import type { Logger } from '../../adapters/kit/log.ts';
import { CallCore, type CallCoreDeps } from './call-core.ts';
import { InboundGuard } from './inbound-guard.ts';
import type { CallOutput, LiveCall, Utterance } from './io.ts';

export abstract class CallTransport<K extends string> implements LiveCall, CallOutput {
  abstract readonly mode: 'media' | 'relay';
  abstract readonly speaksGreeting: boolean;
  abstract readonly joiner: string;
  abstract readonly playing: boolean;
  readonly core: CallCore;
  protected log: Logger;
  protected readonly guard: InboundGuard<K>;

  constructor(deps: CallCoreDeps, component: string) {
    this.log = deps.log.child({ component });
    this.core = new CallCore(this, { ...deps, log: this.log });
    this.guard = new InboundGuard<K>(this.transportName(), deps.metrics, () => this.log, (reason) => this.core.end('protocol', 1008, reason));
  }

  /** The protocol name in metrics labels (the mode, known only once the subclass exists). */
  protected abstract transportName(): 'media' | 'relay';

  get state() {
    return this.core.state;
  }
  get callSid() {
    return this.core.callSid;
  }
  get startedAt() {
    return this.core.startedAt;
  }
  get turns() {
    return this.core.turns;
  }
  get history() {
    return this.core.history;
  }
  get errors() {
    return this.guard.errors;
  }
  get outcome() {
    return this.core.outcome;
  }
  get language() {
    return this.core.language;
  }
  get workflowId() {
    return this.core.workflowId;
  }
  get turnDone$() {
    return this.core.turnDone$;
  }
  get started$() {
    return this.core.started$;
  }
  get ended$() {
    return this.core.ended$;
  }

  /** Gives the call's log lines its ids once the start message names them. */
  protected identify(bindings: Record<string, string | undefined>): void {
    this.log = this.log.child(bindings);
    this.core.log = this.log;
  }

  abstract onMessage(data: ArrayBuffer | string, isBinary: boolean): void;

  /** The socket closed under the call: end without writing to it. */
  closed(code: number, reason: string): void {
    this.core.end(code === 1000 || code === 1005 ? 'hangup' : 'socket-closed', code, reason, true);
  }

  end(outcome: string, code?: number, reason?: string): void {
    this.core.end(outcome, code, reason);
  }

  fail(err: unknown, where: string): void {
    this.core.boundary.fail(err, where);
  }

  abstract speak(u: Utterance): Observable<string>;
  abstract stop(): string | undefined;
  abstract drained(): Promise<void>;
  abstract languageChanged(locale: string): void;
  abstract hangUp(): void;
  abstract shutdown(code: number, reason: string, socketGone: boolean): void;
}
