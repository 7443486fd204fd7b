// Streaming chat completions through the official `openai` client, against OpenAI or any
// OpenAI-compatible server (`baseURL`). Retries are off (maxRetries 0): hedging and failover
// across providers are the engine's job, and a hidden retry would only add latency. Requests go
// through a keep-alive (HTTP/2 where offered) connection pool, pre-connected when a call starts.
import type OpenAI from 'openai';
import { ProviderError, type LlmChunk, type LlmProvider, type LlmRequest } from '../kit/types.ts';
import { sharedHttpPool, type HttpPool } from '../kit/http-pool.ts';
import { openAiClient } from './client.ts';
import { mapOpenAiError } from './errors.ts';

export interface OpenAiLlmOptions {
  apiKey: string;
  model: string;
  /** Any OpenAI-compatible server, e.g. "http://127.0.0.1:8000/v1". Default: api.openai.com. */
  baseURL?: string;
  temperature?: number;
  maxTokens?: number;
  /** HTTP timeout for one request (connect to end of stream), ms. */
  timeoutMs?: number;
  /** Name for health/metrics; default "openai/<model>". */
  name?: string;
  /** A pre-built client (the Azure adapter passes an AzureOpenAI one, built with `http.fetch`). */
  client?: OpenAI;
  /** Connection pool; default the process's shared one. */
  http?: HttpPool;
}

export class OpenAiLlm implements LlmProvider {
  readonly name: string;
  private readonly client: OpenAI;
  private readonly http: HttpPool;

  constructor(private readonly opts: OpenAiLlmOptions) {
    if (!opts.model) throw new Error('OpenAiLlm: model is required');
    this.name = opts.name ?? `openai/${opts.model}`;
    this.http = opts.http ?? sharedHttpPool();
    this.client = opts.client ?? openAiClient(opts, this.http);
  }

  /** Opens the connection the call's first answer will use (no request is sent). */
  onCallStart(): Promise<void> {
    return this.http.preconnect(this.client.baseURL);
  }

  async *stream(req: LlmRequest): AsyncGenerator<LlmChunk> {
    const { signal } = req;
    if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted before start');
    let stream;
    try {
      stream = await this.client.chat.completions.create(
        {
          model: this.opts.model,
          messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
          stream: true,
          ...(this.opts.temperature !== undefined ? { temperature: this.opts.temperature } : {}),
          ...(this.opts.maxTokens !== undefined ? { max_completion_tokens: this.opts.maxTokens } : {}),
        },
        { signal },
      );
    } catch (e) {
      throw mapOpenAiError(this.name, e, signal);
    }
    let finished = false;
    try {
      for await (const chunk of stream) {
        if (signal.aborted) break; // events already parsed must not leak out after an abort
        const choice = chunk.choices?.[0];
        const text = choice?.delta?.content;
        if (text) yield { text };
        if (choice?.finish_reason) finished = true;
      }
    } catch (e) {
      throw mapOpenAiError(this.name, e, signal);
    }
    if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted');
    // A stream that ends without a finish_reason was cut off (proxy or server dropped it cleanly).
    if (!finished) throw new ProviderError(this.name, 'server', 'stream ended without a finish_reason (truncated answer)');
  }
}
