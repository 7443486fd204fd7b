// Chooses the cache's embedding backend from the configuration and says which one it uses.
// auto: a transformers.js model when its files are in CACHE_MODEL_DIR (or downloads are
// allowed), else the offline hashing backend. An explicit choice that cannot start is logged
// as an error naming the cause and the fix, and the cache falls back to hashing so calls go on.
import type { EmbeddingProvider } from '../../adapters/kit/types.ts';
import { HashingEmbedding } from '../../adapters/local/hashing-embedding.ts';
import { OpenAiEmbedding } from '../../adapters/openai/embeddings.ts';
import { modelFiles } from '../../adapters/transformers/embedding.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { EmbedPool } from './embed-pool.ts';

export type BackendKind = 'hashing' | 'transformers' | 'openai' | 'custom';

export interface Embedder {
  provider: EmbeddingProvider;
  kind: BackendKind;
  /** Similarity threshold that fits this backend's scale. */
  threshold: number;
  close(): Promise<void>;
}

export function thresholdFor(kind: BackendKind, providerName: string, cfg: Config): number {
  return kind === 'hashing' || providerName.startsWith('hashing') ? cfg.CACHE_HASHING_THRESHOLD : cfg.CACHE_THRESHOLD;
}

export async function createEmbedder(cfg: Config, log: Logger, given?: EmbeddingProvider): Promise<Embedder> {
  if (given) {
    const kind: BackendKind = given.name.startsWith('hashing') ? 'hashing' : 'custom';
    return { provider: given, kind, threshold: thresholdFor(kind, given.name, cfg), close: async () => {} };
  }
  const choice = cfg.CACHE_EMBEDDING_BACKEND;
  if (choice === 'openai') {
    try {
      if (!cfg.OPENAI_API_KEY && !cfg.OPENAI_BASE_URL) throw new Error('set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server)');
      const p = new OpenAiEmbedding({ apiKey: cfg.OPENAI_API_KEY, baseURL: cfg.OPENAI_BASE_URL, model: cfg.CACHE_OPENAI_EMBEDDING_MODEL, dimensions: cfg.CACHE_OPENAI_DIMENSIONS });
      await p.probe(AbortSignal.timeout(15_000));
      // Network-bound, not CPU-bound: it runs on the main thread, there is nothing to offload.
      return { provider: p, kind: 'openai', threshold: cfg.CACHE_THRESHOLD, close: async () => {} };
    } catch (e) {
      log.error({ err: (e as Error).message }, 'cache: OpenAI embeddings backend unavailable; falling back to the offline hashing backend');
      return hashing(cfg, log);
    }
  }
  if (choice === 'transformers' || choice === 'auto') {
    const spec = { kind: 'transformers' as const, model: cfg.CACHE_MODEL, modelDir: cfg.CACHE_MODEL_DIR, allowDownload: cfg.CACHE_MODEL_DOWNLOAD };
    const files = modelFiles(spec);
    if (choice === 'auto' && files.missing.length > 0 && !cfg.CACHE_MODEL_DOWNLOAD) {
      log.info({ model: cfg.CACHE_MODEL, folder: files.folder }, 'cache: no local embedding model; using the offline hashing backend (set CACHE_MODEL_DIR or CACHE_MODEL_DOWNLOAD=true for a sentence model)');
      return hashing(cfg, log);
    }
    try {
      const pool = await EmbedPool.start(spec, { threads: Math.max(1, cfg.CACHE_EMBED_THREADS ?? 1) });
      return { provider: pool, kind: 'transformers', threshold: cfg.CACHE_THRESHOLD, close: () => pool.close() };
    } catch (e) {
      log.error({ err: (e as Error).message }, 'cache: transformers embedding backend failed to start; falling back to the offline hashing backend');
      return hashing(cfg, log);
    }
  }
  return hashing(cfg, log);
}

async function hashing(cfg: Config, log: Logger): Promise<Embedder> {
  // Inline by default: hashing a text (≈ 36 µs) costs less than the round trip to a thread (≈ 117 µs).
  const threads = cfg.CACHE_EMBED_THREADS ?? 0;
  if (threads > 0) {
    try {
      const pool = await EmbedPool.start({ kind: 'hashing', dimensions: cfg.CACHE_HASHING_DIMS }, { threads });
      return { provider: pool, kind: 'hashing', threshold: cfg.CACHE_HASHING_THRESHOLD, close: () => pool.close() };
    } catch (e) {
      log.error({ err: (e as Error).message }, 'cache: embedding worker pool failed to start; hashing on the main thread');
    }
  }
  const p = new HashingEmbedding({ dimensions: cfg.CACHE_HASHING_DIMS });
  return { provider: p, kind: 'hashing', threshold: cfg.CACHE_HASHING_THRESHOLD, close: async () => {} };
}
