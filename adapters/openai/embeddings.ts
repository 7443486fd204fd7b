// OpenAI embeddings backend for the semantic cache, through the official `openai` client, so it
// also works with any OpenAI-compatible server (set baseURL). The client asks for base64 by
// default and decodes it to floats; vectors are re-normalised here because compatible servers
// do not all return unit vectors.
import type OpenAI from 'openai';
import type { EmbeddingProvider } from '../kit/types.ts';
import { ProviderError } from '../kit/types.ts';
import { mapOpenAiError } from './errors.ts';
import { openAiClient } from './client.ts';

export interface OpenAiEmbeddingOptions {
  apiKey?: string;
  baseURL?: string;
  model?: string;
  /** Requested vector size (text-embedding-3 models can shorten vectors). */
  dimensions?: number;
  timeoutMs?: number;
  maxRetries?: number;
  /** Largest batch per request (the API takes up to 2048 inputs). */
  maxBatch?: number;
}

/** Known output sizes, so `dimensions` is right before the first request. */
const MODEL_DIMENSIONS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

export class OpenAiEmbedding implements EmbeddingProvider {
  readonly name: string;
  private dims: number | undefined;
  private readonly client: OpenAI;
  private readonly model: string;
  private readonly requestDims: number | undefined;
  private readonly maxBatch: number;

  constructor(opts: OpenAiEmbeddingOptions = {}) {
    this.model = opts.model ?? 'text-embedding-3-small';
    this.name = `openai:${this.model}`;
    this.requestDims = opts.dimensions;
    this.dims = opts.dimensions ?? MODEL_DIMENSIONS[this.model];
    this.maxBatch = Math.max(1, Math.min(2048, opts.maxBatch ?? 256));
    this.client = openAiClient({
      // The client refuses to start without a key; compatible local servers often need none.
      apiKey: opts.apiKey ?? (opts.baseURL ? 'unused' : undefined),
      baseURL: opts.baseURL,
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxRetries: opts.maxRetries ?? 1,
    });
  }

  /** Vector size; for an unknown model it is learnt from the first answer (see probe()). */
  get dimensions(): number {
    return this.dims ?? 0;
  }

  /** Embeds one text to learn the vector size and check the endpoint answers. */
  async probe(signal?: AbortSignal): Promise<number> {
    await this.embed(['dimension probe'], signal);
    return this.dimensions;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.maxBatch) {
      // Empty input is rejected by the API; a single space embeds as "nothing said".
      const batch = texts.slice(i, i + this.maxBatch).map((t) => (t.trim() ? t : ' '));
      let res: OpenAI.CreateEmbeddingResponse;
      try {
        res = await this.client.embeddings.create(
          { model: this.model, input: batch, ...(this.requestDims ? { dimensions: this.requestDims } : {}) },
          { signal },
        );
      } catch (e) {
        throw mapOpenAiError(this.name, e, signal);
      }
      const data = [...(res.data ?? [])].sort((a, b) => a.index - b.index);
      if (data.length !== batch.length) throw new ProviderError(this.name, 'server', `asked for ${batch.length} embeddings, got ${data.length}`);
      for (const d of data) {
        const v = Float32Array.from(d.embedding as ArrayLike<number>);
        if (this.dims === undefined) this.dims = v.length;
        if (v.length !== this.dims) throw new ProviderError(this.name, 'server', `embedding has ${v.length} dimensions, expected ${this.dims}`);
        out.push(unit(v, this.name));
      }
    }
    return out;
  }
}

function unit(v: Float32Array, provider: string): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  if (!(n > 0) || !Number.isFinite(n)) throw new ProviderError(provider, 'server', 'embedding is all zeros or not finite');
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}
