// Provider chains: an ordered list of providers for one role that itself implements the role's
// interface, so the call session never knows whether it talks to one provider or five.
// Hedging and failover come from hedge.ts; this file says what "resume" means per role.
//
// LLM: after a mid-answer failure the next provider gets the conversation plus the partial
//   answer (as an assistant message) and an instruction to continue it; whatever it repeats of
//   the partial answer (a restart, or an overlap at the seam) is cut before it reaches the caller.
// TTS: audio already sent is never replayed. The share of the sentence already spoken is
//   estimated from the bytes sent at a typical speaking rate (~14 characters per second), rounded
//   up to the next word boundary, and only the rest is synthesized by the next provider. A word
//   may be skipped at the seam; none is repeated.
// STT: the turn's audio is kept until endTurn; a hedge or failover opens the next provider's
//   stream, replays that audio into it and asks it for the turn's transcript.
import type { CallContext, ChatMessage, LlmChunk, LlmProvider, LlmRequest, ProviderLifecycle, SttProvider, SttResult, SttStream, TtsProvider, TtsRequest, Ulaw } from '../../adapters/kit/types.ts';
import { ProviderError } from '../../adapters/kit/types.ts';
import { hedgedStream, raceFirstOutput, toProviderError, HedgeBudget, DEFAULT_HEDGE, type Candidate, type HedgeSettings, type RaceContext, type StreamJob } from './hedge.ts';
import { ProviderHealth } from './health.ts';
import { newRoute, withRoute, type Route, type RouteRole } from './route.ts';
import type { Logger } from '../log.ts';

export interface ChainOptions {
  health?: ProviderHealth;
  settings?: Partial<HedgeSettings>;
  /** Hedge budget (token bucket): tokens a success puts back, and the bucket's size. */
  budgetRatio?: number;
  budgetTokens?: number;
  /** Shared budget (overrides budgetRatio/budgetTokens). */
  budget?: HedgeBudget;
  log?: Logger;
  name?: string;
}

abstract class ChainBase<P extends { name: string }> {
  readonly name: string;
  readonly health: ProviderHealth;
  readonly budget: HedgeBudget;
  readonly settings: HedgeSettings;
  protected readonly log?: Logger;

  constructor(
    protected readonly role: RouteRole,
    readonly candidates: Candidate<P>[],
    o: ChainOptions = {},
  ) {
    if (candidates.length === 0) throw new Error(`${role} chain: at least one provider is required`);
    const names = new Set(candidates.map((c) => c.name));
    if (names.size !== candidates.length) throw new Error(`${role} chain: provider names must be unique, got ${candidates.map((c) => c.name).join(', ')}`);
    // Starts with the primary's name: callers that pick voices by adapter name keep working.
    this.name = o.name ?? candidates.map((c) => c.name).join(' > ');
    this.health = o.health ?? new ProviderHealth();
    this.budget = o.budget ?? new HedgeBudget({ ratio: o.budgetRatio, maxTokens: o.budgetTokens });
    this.settings = { ...DEFAULT_HEDGE, ...o.settings };
    this.log = o.log;
    for (const c of candidates) this.health.register(c.name, role);
  }

  /** Warms up every provider of the chain: any of them may serve the first call. */
  async warmUp(): Promise<void> {
    await Promise.all(this.candidates.map((c) => (c.provider as ProviderLifecycle).warmUp?.()));
  }

  async close(): Promise<void> {
    await Promise.all(this.candidates.map((c) => (c.provider as ProviderLifecycle).close?.()));
  }

  /** Pre-connects every provider of the chain: a hedge or failover must not pay a handshake either. */
  async onCallStart(ctx: CallContext): Promise<void> {
    await Promise.all(this.candidates.map(async (c) => (c.provider as ProviderLifecycle).onCallStart?.(ctx)));
  }

  protected rc(signal: AbortSignal, route?: Route): RaceContext {
    return { health: this.health, budget: this.budget, settings: this.settings, signal, log: this.log, route };
  }

  /** The job hedged over the chain; a chain of one only passes it through, metered. Its route (route.ts) rides along. */
  protected run<T>(job: StreamJob<P, T>, signal: AbortSignal): AsyncIterable<T> {
    const [only] = this.candidates;
    const route = newRoute(this.role);
    if (this.candidates.length === 1) return withRoute(metered(this.health, only.name, signal, () => job.start(only, signal), route), route);
    return withRoute(hedgedStream(this.name, this.candidates, job, this.rc(signal, route)), route);
  }
}

/**
 * A chain of one provider: nothing to hedge or fail over to, so the stream passes through as it
 * comes (no hedge, no first-output or stall limit), but its requests, errors, first-output times
 * and breaker state are recorded like any chain's, so /health and /metrics count it.
 */
async function* metered<T>(health: ProviderHealth, name: string, signal: AbortSignal, source: () => AsyncIterable<T>, route?: Route): AsyncGenerator<T> {
  health.recordRequest(name);
  const t0 = performance.now();
  let first = true;
  const answered = () => {
    first = false;
    route?.providers.push(name);
    health.recordFirstOutput(name, performance.now() - t0);
    health.breaker(name).success();
  };
  try {
    for await (const x of source()) {
      if (first) answered();
      yield x;
    }
    if (first) answered(); // an empty answer is an answer
  } catch (e) {
    const kind = toProviderError(e, name).kind;
    if (!signal.aborted && kind !== 'aborted') {
      health.recordError(name, kind);
      if (kind !== 'bad_request') health.breaker(name).failure(first ? kind : `mid-stream ${kind}`);
    }
    throw e;
  }
}

/** Wraps a list of providers as candidates named after them. */
export function candidates<P extends { name: string }>(providers: P[]): Candidate<P>[] {
  return providers.map((provider) => ({ name: provider.name, provider }));
}

// ------------------------------------------------------------------------------------ LLM

const CONTINUE_INSTRUCTION =
  'Your previous reply was cut off after the text above. Continue it from exactly where it stopped: do not repeat any of it, do not start over, do not mention the interruption.';

/** The conversation that asks a provider to continue `partial`. */
export function continuationMessages(messages: ChatMessage[], partial: string): ChatMessage[] {
  return [...messages, { role: 'assistant', content: partial }, { role: 'user', content: CONTINUE_INSTRUCTION }];
}

/** How much of the start of `incoming` repeats the end of `emitted` (a restart counts fully). */
export function overlapLength(emitted: string, incoming: string): number {
  if (!emitted || !incoming) return 0;
  if (incoming.startsWith(emitted)) return emitted.length;
  // Leading whitespace differences are common at the seam; compare from the first non-space.
  const lead = incoming.length - incoming.trimStart().length;
  const body = incoming.slice(lead);
  const tail = emitted.trimEnd();
  for (let k = Math.min(tail.length, body.length); k >= 4; k--) {
    if (tail.endsWith(body.slice(0, k))) return lead + k;
  }
  return 0;
}

/**
 * Drops what a continuation repeats. Holds output back until it can tell (it diverges from a
 * restart, or it is longer than the partial answer, or the stream ends).
 */
export async function* dropOverlap(emitted: string, source: AsyncIterable<LlmChunk>): AsyncGenerator<LlmChunk> {
  let buf = '';
  let cacheable: boolean | undefined;
  // A held-back chunk's flags outlive its text: endCall on a chunk whose text repeats the partial
  // answer (or on an empty last chunk) must still end the call.
  let endCall = false;
  let released = false;
  const release = (): LlmChunk | null => {
    released = true;
    const rest = buf.slice(overlapLength(emitted, buf));
    return rest || endCall ? { text: rest, ...(cacheable === false ? { cacheable } : {}), ...(endCall ? { endCall } : {}) } : null;
  };
  for await (const chunk of source) {
    if (released) {
      yield chunk;
      continue;
    }
    buf += chunk.text;
    if (chunk.cacheable === false) cacheable = false;
    if (chunk.endCall) endCall = true;
    const maybeRestart = emitted.startsWith(buf.trimStart()) || buf.trimStart().startsWith(emitted.trimStart());
    const decided = buf.length > emitted.length || (!maybeRestart && buf.length >= 24);
    if (decided) {
      const out = release();
      if (out) yield out;
    }
  }
  if (!released) {
    const out = release();
    if (out) yield out;
  }
}

function llmJob(req: LlmRequest, partial?: string): StreamJob<LlmProvider, LlmChunk> {
  return {
    start: (c, signal) =>
      partial === undefined
        ? c.provider.stream({ ...req, signal })
        : dropOverlap(partial, c.provider.stream({ ...req, messages: continuationMessages(req.messages, partial), signal })),
    resume: (emitted) => llmJob(req, emitted.map((x) => x.text).join('')),
  };
}

export class HedgedLlm extends ChainBase<LlmProvider> implements LlmProvider {
  constructor(cands: Candidate<LlmProvider>[], o?: ChainOptions) {
    super('llm', cands, o);
  }
  stream(req: LlmRequest): AsyncIterable<LlmChunk> {
    return this.run(llmJob(req), req.signal);
  }
}

// ------------------------------------------------------------------------------------ TTS

/** Characters per second of typical synthesized speech, used to place a TTS seam. */
export const SPOKEN_CHARS_PER_SECOND = 14;

/** The text still to be spoken after `bytes` of 8 kHz μ-law were sent (empty when done). */
export function remainingTextAfterAudio(text: string, bytes: number): string {
  const spokenChars = Math.ceil((bytes / 8000) * SPOKEN_CHARS_PER_SECOND);
  if (spokenChars <= 0) return text;
  if (spokenChars >= text.length) return '';
  // Round up to the next word boundary: skip the partly spoken word rather than repeat it.
  const m = /\s+/g;
  m.lastIndex = spokenChars;
  const hit = m.exec(text);
  return hit ? text.slice(hit.index + hit[0].length).trim() : '';
}

function ttsJob(req: TtsRequest, cands: Candidate<TtsProvider>[], text = req.text): StreamJob<TtsProvider, Ulaw> {
  return {
    start: (c, signal) => c.provider.synthesize({ ...req, text, voice: c === cands[0] ? req.voice || c.voice || '' : c.voice ?? req.voice, signal }),
    resume: (emitted) => {
      const sent = emitted.reduce((a, b) => a + b.length, 0);
      const rest = remainingTextAfterAudio(req.text, sent);
      return rest ? ttsJob(req, cands, rest) : null;
    },
  };
}

export class HedgedTts extends ChainBase<TtsProvider> implements TtsProvider {
  constructor(cands: Candidate<TtsProvider>[], o?: ChainOptions) {
    super('tts', cands, o);
  }
  synthesize(req: TtsRequest): AsyncIterable<Ulaw> {
    return this.run(ttsJob(req, this.candidates), req.signal);
  }
}

// ------------------------------------------------------------------------------------ STT

/** Longest turn audio kept for replay into a hedge/failover stream (8 kHz samples: 60 s). */
const MAX_TURN_SAMPLES = 8000 * 60;

export class HedgedStt extends ChainBase<SttProvider> implements SttProvider {
  constructor(cands: Candidate<SttProvider>[], o?: ChainOptions) {
    super('stt', cands, o);
  }
  open(ctx: CallContext, signal: AbortSignal): SttStream {
    if (this.candidates.length === 1) return new MeteredSttStream(this.candidates[0], this.health, ctx, signal);
    return new HedgedSttStream(this, ctx, signal);
  }
  /** @internal used by the stream */
  raceContext(signal: AbortSignal, route?: Route): RaceContext {
    return this.rc(signal, route);
  }
}

/** The stream of a chain of one STT provider: the provider's own, with each turn metered. */
class MeteredSttStream implements SttStream {
  private readonly inner: SttStream;
  constructor(
    private readonly c: Candidate<SttProvider>,
    private readonly health: ProviderHealth,
    ctx: CallContext,
    signal: AbortSignal,
  ) {
    try {
      this.inner = c.provider.open(ctx, signal);
    } catch (e) {
      health.recordError(c.name, toProviderError(e, c.name).kind);
      throw e;
    }
  }
  get onInterim(): ((text: string) => void) | undefined {
    return this.inner.onInterim;
  }
  set onInterim(f: ((text: string) => void) | undefined) {
    this.inner.onInterim = f;
  }
  push(pcm: Int16Array, speech: boolean): void {
    this.inner.push(pcm, speech);
  }
  async endTurn(signal: AbortSignal): Promise<SttResult> {
    const inner = this.inner;
    const route = newRoute('stt');
    for await (const r of metered(
      this.health,
      this.c.name,
      signal,
      async function* () {
        yield await inner.endTurn(signal);
      },
      route,
    ))
      return withRoute({ ...r }, route); // a copy: the route belongs to this turn's result alone
    throw new ProviderError(this.c.name, 'server', 'no transcript'); // unreachable: the source yields once or throws
  }
  close(): void {
    this.inner.close();
  }
}

class HedgedSttStream implements SttStream {
  onInterim?: (text: string) => void;
  private readonly streams = new Map<string, SttStream>();
  private active!: Candidate<SttProvider>;
  private turn: Array<[Int16Array, boolean]> = [];
  private turnSamples = 0;
  private closed = false;

  constructor(
    private readonly chain: HedgedStt,
    private readonly ctx: CallContext,
    private readonly signal: AbortSignal,
  ) {
    // Open on the first provider whose breaker admits it; one that throws at open fails over now.
    const order = [...chain.candidates.filter((c) => chain.health.breaker(c.name).canAttempt()), ...chain.candidates.filter((c) => !chain.health.breaker(c.name).canAttempt())];
    let lastError: unknown;
    for (const c of order) {
      try {
        this.openOn(c);
        this.active = c;
        return;
      } catch (e) {
        lastError = e;
        chain.health.recordError(c.name, 'unknown');
        chain.health.breaker(c.name).failure('open failed');
      }
    }
    throw lastError;
  }

  private openOn(c: Candidate<SttProvider>): SttStream {
    const s = c.provider.open(this.ctx, this.signal);
    s.onInterim = (text) => {
      if (c === this.active && !this.closed) this.onInterim?.(text);
    };
    this.streams.set(c.name, s);
    return s;
  }

  push(pcm: Int16Array, speech: boolean): void {
    if (this.closed) return;
    this.turn.push([pcm, speech]);
    this.turnSamples += pcm.length;
    while (this.turnSamples > MAX_TURN_SAMPLES && this.turn.length > 1) this.turnSamples -= this.turn.shift()![0].length;
    for (const s of this.streams.values()) s.push(pcm, speech);
  }

  async endTurn(signal: AbortSignal): Promise<SttResult> {
    if (this.closed) throw new ProviderError(this.chain.name, 'bad_request', 'endTurn() after close()');
    const audio = this.turn;
    this.turn = [];
    this.turnSamples = 0;
    const order = [this.active, ...this.chain.candidates.filter((c) => c !== this.active)];
    const streamFor = (c: Candidate<SttProvider>): SttStream => {
      const have = this.streams.get(c.name);
      if (have) return have;
      const s = this.openOn(c);
      for (const [pcm, speech] of audio) s.push(pcm, speech);
      return s;
    };
    async function* one(c: Candidate<SttProvider>, sig: AbortSignal): AsyncGenerator<SttResult> {
      yield await streamFor(c).endTurn(sig);
    }
    const route = newRoute('stt');
    const rc = this.chain.raceContext(signal, route);
    rc.budget.noteRequest();
    try {
      const won = await raceFirstOutput(this.chain.name, order, one, rc);
      won.iterator.return?.()?.catch(() => {});
      if (won.failed.has(this.active.name)) this.active = won.candidate; // later turns stay on the one that works
      this.dropStreams((name) => name !== this.active.name);
      return withRoute(won.first.done ? { text: '' } : { ...won.first.value }, route);
    } catch (e) {
      // Streams that failed are re-opened fresh on the next turn.
      if (!signal.aborted) this.dropStreams(() => true);
      throw e;
    }
  }

  private dropStreams(which: (name: string) => boolean): void {
    for (const [name, s] of [...this.streams]) {
      if (!which(name)) continue;
      this.streams.delete(name);
      try {
        s.close();
      } catch {
        /* closing a broken stream may throw; it is gone either way */
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropStreams(() => true);
  }
}
