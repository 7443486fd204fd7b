// Streaming answers from Anthropic's Messages API through the official @anthropic-ai/sdk
// (POST /v1/messages with stream: true; text arrives in content_block_delta/text_delta events
// and the answer is complete only at message_stop). Retries are off (maxRetries 0): failover
// is the chain's job. `baseURL` points it at any compatible server (a loopback fake in tests).
// SDK 1.x speaks API version 2026-10-21, which refuses sampling parameters (temperature, top_p,
// top_k) with a 400, so there is no temperature option.
import Anthropic from '@anthropic-ai/sdk';
import { ProviderError, type ChatMessage, type LlmChunk, type LlmProvider, type LlmRequest } from '../kit/types.ts';
import { mapAnthropicError } from './errors.ts';
import { sharedHttpPool, type HttpPool } from '../kit/http-pool.ts';

export interface AnthropicLlmOptions {
  apiKey: string;
  /** Default "claude-haiku-4-5" (fast enough for a phone turn). */
  model?: string;
  /** The answer's token limit, which the Messages API requires. Default 512. */
  maxTokens?: number;
  /** e.g. "http://127.0.0.1:8000"; default https://api.anthropic.com. */
  baseURL?: string;
  /** HTTP timeout for one request, ms (default 30 s). */
  timeoutMs?: number;
  /** Name for health/metrics; default "anthropic/<model>". */
  name?: string;
  /** Connection pool (keep-alive, HTTP/2 where offered); default the process's shared one. */
  http?: HttpPool;
}

/** Stands in for the caller when the history opens with the agent's greeting (the API wants a user turn first). */
const CALL_OPENED = '(The caller has joined the call.)';

/**
 * The engine's history in the Messages API's shape: system messages become `system`, empty
 * turns (an answer cut before any word) are dropped, and consecutive turns of one role merged.
 */
export function toAnthropicMessages(messages: ChatMessage[]): { system?: string; messages: Array<{ role: 'user' | 'assistant'; content: string }> } {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const turns: Array<{ role: 'user' | 'assistant'; content: string }> = [];
  for (const m of messages) {
    if (m.role === 'system' || !m.content.trim()) continue;
    const last = turns[turns.length - 1];
    if (last?.role === m.role) last.content += `\n\n${m.content}`;
    else turns.push({ role: m.role, content: m.content });
  }
  if (turns[0]?.role !== 'user') turns.unshift({ role: 'user', content: CALL_OPENED });
  // A last assistant turn is a prefill the model continues; the API refuses trailing whitespace there.
  const last = turns[turns.length - 1];
  if (last.role === 'assistant') last.content = last.content.trimEnd();
  return system ? { system, messages: turns } : { messages: turns };
}

export class AnthropicLlm implements LlmProvider {
  readonly name: string;
  private readonly client: Anthropic;
  private readonly model: string;
  private readonly maxTokens: number;
  private readonly http: HttpPool;

  constructor(private readonly opts: AnthropicLlmOptions) {
    if (!opts.apiKey) throw new Error('AnthropicLlm: apiKey is required');
    if (opts.maxTokens !== undefined && !(Number.isInteger(opts.maxTokens) && opts.maxTokens >= 1)) throw new Error(`AnthropicLlm: maxTokens must be a positive integer, got ${opts.maxTokens}`);
    if (opts.baseURL !== undefined && !/^https?:\/\//.test(opts.baseURL)) throw new Error(`AnthropicLlm: baseURL must be an http(s) URL, got "${opts.baseURL}"`);
    this.model = opts.model || 'claude-haiku-4-5';
    this.maxTokens = opts.maxTokens ?? 512;
    this.name = opts.name ?? `anthropic/${this.model}`;
    this.http = opts.http ?? sharedHttpPool();
    this.client = new Anthropic({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: opts.timeoutMs ?? 30_000, fetch: this.http.fetch });
  }

  /** Opens the connection the call's first answer will use (no request is sent). */
  onCallStart(): Promise<void> {
    return this.http.preconnect(this.client.baseURL);
  }

  async *stream(req: LlmRequest): AsyncGenerator<LlmChunk> {
    const { signal } = req;
    if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted before start');
    let events;
    try {
      events = await this.client.messages.create(
        {
          model: this.model,
          max_tokens: this.maxTokens,
          ...toAnthropicMessages(req.messages),
          stream: true,
        },
        { signal },
      );
    } catch (e) {
      throw mapAnthropicError(this.name, e, signal);
    }
    let stopped = false;
    try {
      for await (const ev of events) {
        if (signal.aborted) break; // events already parsed must not leak out after an abort
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta' && ev.delta.text) yield { text: ev.delta.text };
        else if (ev.type === 'message_stop') stopped = true;
      }
    } catch (e) {
      throw mapAnthropicError(this.name, e, signal);
    }
    if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted');
    // A stream that ends without message_stop was cut off (a proxy or the server closed it).
    if (!stopped) throw new ProviderError(this.name, 'server', 'stream ended without message_stop (truncated answer)');
  }
}
