// transformers.js embedding backend (@xenova/transformers): a sentence-transformer ONNX model,
// mean pooling over the attention mask, L2-normalised. The model loads from a local folder
// (CACHE_MODEL_DIR/<model id>/...); only when downloads are allowed does transformers.js fetch
// it from the hub, into that same folder, so the next start is offline.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AutoModel, AutoTokenizer, Tensor } from '@xenova/transformers';
import type { EmbeddingModule, EmbeddingProvider } from '../kit/types.ts';

type TransformersLib = typeof import('@xenova/transformers');
let lib: Promise<TransformersLib> | undefined;
/** Loaded on first use: onnxruntime is heavy, and processes using another backend never need it. */
export function transformersLib(): Promise<TransformersLib> {
  lib ??= import('@xenova/transformers');
  return lib;
}

export interface TransformersEmbeddingOptions {
  /** Hub id or folder name under modelDir, e.g. "Xenova/paraphrase-multilingual-MiniLM-L12-v2". */
  model: string;
  /** Folder holding <model>/config.json, tokenizer.json and onnx/model[_quantized].onnx. */
  modelDir: string;
  /** Allow transformers.js to download the model (into modelDir) when it is not there. */
  allowDownload?: boolean;
  /** Use onnx/model_quantized.onnx (default) rather than onnx/model.onnx. */
  quantized?: boolean;
}

export class ModelFilesMissingError extends Error {
  override name = 'ModelFilesMissingError';
}

/** The files a local load needs, and which of them are missing. */
export function modelFiles(opts: TransformersEmbeddingOptions): { folder: string; required: string[]; missing: string[] } {
  const folder = resolve(opts.modelDir, opts.model);
  const onnx = opts.quantized === false ? 'onnx/model.onnx' : 'onnx/model_quantized.onnx';
  const required = ['config.json', 'tokenizer.json', 'tokenizer_config.json', onnx].map((f) => join(folder, f));
  return { folder, required, missing: required.filter((f) => !existsSync(f)) };
}

/**
 * Mean-pools token vectors over the attention mask and L2-normalises each row.
 * hidden: [batch, tokens, dims]; mask: [batch, tokens] → one unit vector per batch row.
 */
export function poolAndNormalise(t: Pick<TransformersLib, 'mean_pooling'>, hidden: Tensor, mask: Tensor): Float32Array[] {
  const pooled = t.mean_pooling(hidden, mask).normalize(2, -1);
  const [batch, dims] = pooled.dims as [number, number];
  const data = pooled.data as Float32Array;
  const out: Float32Array[] = [];
  for (let i = 0; i < batch; i++) out.push(Float32Array.from(data.subarray(i * dims, (i + 1) * dims)));
  return out;
}

type Tokenizer = Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
type Model = Awaited<ReturnType<typeof AutoModel.from_pretrained>>;

export class TransformersEmbedding implements EmbeddingProvider {
  readonly name: string;

  private constructor(
    private readonly t: TransformersLib,
    private readonly tokenizer: Tokenizer,
    private readonly model: Model,
    readonly dimensions: number,
    modelId: string,
  ) {
    this.name = `transformers:${modelId}`;
  }

  /** Loads tokenizer and model; a missing model gives an error naming the path and the fix. */
  static async load(opts: TransformersEmbeddingOptions): Promise<TransformersEmbedding> {
    const files = modelFiles(opts);
    if (files.missing.length > 0 && !opts.allowDownload) {
      throw new ModelFilesMissingError(
        `transformers embedding model "${opts.model}" not found: missing ${files.missing.join(', ')}. ` +
          `Fix: put the ONNX export of the model in ${files.folder} (config.json, tokenizer.json, tokenizer_config.json, onnx/model_quantized.onnx), ` +
          `or point CACHE_MODEL_DIR at the folder that holds "${opts.model}", ` +
          `or set CACHE_MODEL_DOWNLOAD=true where huggingface.co is reachable (it downloads once into CACHE_MODEL_DIR), ` +
          `or use CACHE_EMBEDDING_BACKEND=hashing (offline, no model).`,
      );
    }
    const t = await transformersLib();
    const { env } = t;
    env.allowLocalModels = true;
    env.localModelPath = resolve(opts.modelDir) + '/';
    env.allowRemoteModels = !!opts.allowDownload;
    env.cacheDir = resolve(opts.modelDir) + '/';
    let tokenizer: Tokenizer;
    let model: Model;
    try {
      tokenizer = await t.AutoTokenizer.from_pretrained(opts.model);
      model = await t.AutoModel.from_pretrained(opts.model, { quantized: opts.quantized !== false });
    } catch (e) {
      throw new Error(
        `transformers embedding model "${opts.model}" failed to load from ${files.folder}` +
          `${opts.allowDownload ? ' (or the hub)' : ''}: ${(e as Error).message}. ` +
          `Check the files are a complete transformers.js export, or use CACHE_EMBEDDING_BACKEND=hashing.`,
        { cause: e },
      );
    }
    const cfg = (model as unknown as { config?: { hidden_size?: number } }).config;
    let dims = cfg?.hidden_size ?? 0;
    const probe = new TransformersEmbedding(t, tokenizer, model, dims, opts.model);
    if (!dims) dims = (await probe.embed(['probe']))[0].length;
    return new TransformersEmbedding(t, tokenizer, model, dims, opts.model);
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    if (texts.length === 0) return [];
    const inputs = await this.tokenizer(texts, { padding: true, truncation: true });
    const output = await this.model(inputs);
    const hidden: Tensor = output.last_hidden_state ?? output.token_embeddings ?? Object.values(output)[0];
    return poolAndNormalise(this.t, hidden, inputs.attention_mask as Tensor);
  }
}

/** For the embedding pool's threads (workers/embed.ts). */
export const createEmbedding: EmbeddingModule<TransformersEmbeddingOptions>['createEmbedding'] = (options) => TransformersEmbedding.load(options);
