// Piscina worker: computes embeddings off the main thread. Each thread builds its backend once
// by importing the module the pool names in workerData (an EmbeddingModule, e.g.
// adapters/local/hashing-embedding.ts), so this file depends on the adapter kit only. Each task
// embeds a batch of texts and returns them as one flat Float32Array, transferred rather than copied.
// From source the thread starts at embed-entry.mjs, which registers tsx so that import() of a
// .ts module works in the thread (tsx's --import hook does not reach worker threads on Node 20).
import { move, workerData } from 'piscina';
import type { EmbeddingModule, EmbeddingProvider } from '../adapters/kit/types.ts';

/** The backend: a module's file: URL and the options its createEmbedding is given. */
export interface EmbedBackend {
  module: string;
  options: unknown;
}

/**
 * Either a batch to embed, or a request for the backend's name and size (loads it). `crash` is
 * test-only fault injection: the thread exits before answering, as a killed worker would.
 */
export type EmbedTask = { texts: string[]; crash?: true } | { info: true };

export interface EmbedInfo {
  name: string;
  dimensions: number;
}

let backend: Promise<EmbeddingProvider> | undefined;

async function load(b: EmbedBackend): Promise<EmbeddingProvider> {
  if (typeof b?.module !== 'string') throw new Error(`embed worker: workerData.backend.module must be a module URL, got ${JSON.stringify(b)}`);
  const m = (await import(b.module)) as Partial<EmbeddingModule>;
  if (typeof m.createEmbedding !== 'function') throw new Error(`embed worker: ${b.module} does not export createEmbedding`);
  return m.createEmbedding(b.options);
}

/** A batch task answers with texts.length × dimensions floats, row-major, transferred. */
export default async function embed(task: EmbedTask): Promise<Float32Array | EmbedInfo> {
  backend ??= load((workerData as { backend: EmbedBackend }).backend);
  let b: EmbeddingProvider;
  try {
    b = await backend;
  } catch (e) {
    backend = undefined; // let a later task retry (e.g. after the model files are copied in)
    throw e;
  }
  if ('info' in task) return { name: b.name, dimensions: b.dimensions };
  if (task?.crash) process.exit(1); // in a worker thread this ends the thread, not the process
  if (!Array.isArray(task?.texts) || task.texts.some((t) => typeof t !== 'string')) throw new Error('embed worker: task.texts must be an array of strings');
  const vecs = await b.embed(task.texts);
  const flat = new Float32Array(vecs.length * b.dimensions);
  vecs.forEach((v, i) => flat.set(v, i * b.dimensions));
  // move() must wrap the returned value itself for Piscina to transfer instead of copying.
  return move(flat) as Float32Array;
}
