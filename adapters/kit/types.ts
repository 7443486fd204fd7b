// The provider interfaces. Every adapter (one folder each under adapters/) implements one or
// more of these; the engine only ever talks to these shapes. Every call takes an AbortSignal:
// on barge-in or hang-up the engine aborts it and expects the adapter to stop promptly
// (close sockets, stop streams) and to throw/return without emitting more output.

/** 8 kHz mono G.711 μ-law bytes: the wire format of Twilio Media Streams. */
export type Ulaw = Uint8Array;

/** Why a provider call failed; hedging and breakers decide on this. */
export type ProviderErrorKind =
  | 'aborted' // the caller (engine) aborted it: not a provider failure
  | 'timeout' // no answer / no first output in time
  | 'rate_limited' // 429 and friends
  | 'auth' // bad key, forbidden: retrying will not help
  | 'bad_request' // the request itself is wrong
  | 'server' // 5xx, dropped connection, malformed stream
  | 'unknown';

export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    readonly kind: ProviderErrorKind,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(`${provider}: ${message}`, options);
    this.name = 'ProviderError';
  }
  /** Whether another provider (or a later retry) may succeed where this one failed. */
  get retryable(): boolean {
    return this.kind !== 'aborted' && this.kind !== 'bad_request';
  }
}

/** What every provider call knows about its call and turn. */
export interface CallContext {
  callId: string;
  workflow: string;
  /** BCP-47 locale of the conversation right now, e.g. "en-US", "zh-HK". */
  language: string;
  /** Custom parameters from the stream start / relay setup. */
  parameters: Record<string, string>;
}

// ---------------------------------------------------------------- STT

export interface SttResult {
  text: string;
  /** Locale the provider detected, where it reports one. */
  language?: string;
  confidence?: number;
}

/**
 * One call's recognition stream. The engine pushes every decoded inbound frame (8 kHz PCM16,
 * after noise suppression) and calls `endTurn()` when the turn detector decides the caller
 * has finished; the promise resolves with that turn's final transcript ("" if nothing).
 */
export interface SttStream {
  push(pcm: Int16Array, speech: boolean): void;
  endTurn(signal: AbortSignal): Promise<SttResult>;
  /** Optional interim results for the current turn. */
  onInterim?: (text: string) => void;
  close(): void;
}

/**
 * Optional lifecycle hooks of every provider; chains pass them through to each of their
 * providers. The engine warms providers up before it listens and closes them at shutdown.
 */
export interface ProviderLifecycle {
  /** Loads what the first call would otherwise wait for (a model, a WASM module, a connection). */
  warmUp?(): Promise<void>;
  /**
   * A call is starting: opens (or refreshes) what its first turn would otherwise wait for, such
   * as a pooled connection's TCP + TLS handshake, without a billable request. The engine does
   * not wait for it; a failure only means the first request connects itself.
   */
  onCallStart?(ctx: CallContext): Promise<void> | void;
  /** Releases connections and workers; no request is made afterwards. */
  close?(): Promise<void>;
}

export interface SttProvider extends ProviderLifecycle {
  readonly name: string;
  open(ctx: CallContext, signal: AbortSignal): SttStream;
}

// ---------------------------------------------------------------- LLM / responder

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface LlmRequest {
  ctx: CallContext;
  messages: ChatMessage[];
  signal: AbortSignal;
  /** Workflow state/node, part of the cache's context key. */
  state?: string;
}

/**
 * A streamed piece of the answer. `cacheable: false` on any chunk marks the whole answer as
 * caller-specific (tool results, personal data): the cache must never store it.
 */
export interface LlmChunk {
  text: string;
  cacheable?: boolean;
  /** The agent ends the call once this answer has played (e.g. after a goodbye). */
  endCall?: boolean;
}

export interface LlmProvider extends ProviderLifecycle {
  readonly name: string;
  stream(req: LlmRequest): AsyncIterable<LlmChunk>;
}

// ---------------------------------------------------------------- TTS

export interface TtsRequest {
  ctx: CallContext;
  text: string;
  /** Provider-specific voice name, e.g. "en-US-JennyNeural", "alloy", "en-us" (espeak). */
  voice: string;
  language: string;
  signal: AbortSignal;
}

export interface TtsProvider extends ProviderLifecycle {
  readonly name: string;
  /** Streams 8 kHz μ-law audio in chunks of any size. */
  synthesize(req: TtsRequest): AsyncIterable<Ulaw>;
}

// ---------------------------------------------------------------- Embeddings

export interface EmbeddingProvider {
  readonly name: string;
  readonly dimensions: number;
  /** Unit-length vectors, one per text, same order. */
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/**
 * A module the embedding pool's threads load by URL (workers/embed.ts), so the worker needs no
 * import of any adapter: it calls createEmbedding once per thread with the engine's options.
 */
export interface EmbeddingModule<O = unknown> {
  createEmbedding(options: O): EmbeddingProvider | Promise<EmbeddingProvider>;
}
