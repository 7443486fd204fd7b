// Piscina worker: computes embeddings off the main thread. The backend is built once per thread
// from workerData (hashing, or a transformers.js model); each task embeds a batch of texts and
// returns them as one flat Float32Array, transferred rather than copied.
// Static imports only: under the tsx loader a worker thread on Node 20 loads .ts through the
// CommonJS hook, and a dynamic import() of a .ts file would fail there. (The transformers
// adapter itself imports @xenova/transformers lazily, so hashing workers never load ONNX.)
import { move, workerData } from 'piscina';
import { HashingEmbedding } from '../adapters/local/hashing-embedding.ts';
import { TransformersEmbedding } from '../adapters/transformers/embedding.ts';
import type { EmbeddingProvider } from '../adapters/types.ts';

export type EmbedBackendSpec =
  | { kind: 'hashing'; dimensions: number }
  | { kind: 'transformers'; model: string; modelDir: string; allowDownload: boolean; quantized?: boolean };

/** Either a batch to embed, or a request for the backend's name and size (loads it). */
export type EmbedTask = { texts: string[] } | { info: true };

export interface EmbedInfo {
  name: string;
  dimensions: number;
}

let backend: Promise<EmbeddingProvider> | undefined;

export async function createBackend(spec: EmbedBackendSpec): Promise<EmbeddingProvider> {
  if (spec?.kind === 'hashing') return new HashingEmbedding({ dimensions: spec.dimensions });
  if (spec?.kind === 'transformers') return TransformersEmbedding.load(spec);
  throw new Error(`embed worker: unknown backend spec ${JSON.stringify(spec)}`);
}

/** A batch task answers with texts.length × dimensions floats, row-major, transferred. */
export default async function embed(task: EmbedTask): Promise<Float32Array | EmbedInfo> {
  backend ??= createBackend((workerData as { spec: EmbedBackendSpec }).spec);
  let b: EmbeddingProvider;
  try {
    b = await backend;
  } catch (e) {
    backend = undefined; // let a later task retry (e.g. after the model files are copied in)
    throw e;
  }
  if ('info' in task) return { name: b.name, dimensions: b.dimensions };
  if (!Array.isArray(task?.texts) || task.texts.some((t) => typeof t !== 'string')) throw new Error('embed worker: task.texts must be an array of strings');
  const vecs = await b.embed(task.texts);
  const flat = new Float32Array(vecs.length * b.dimensions);
  vecs.forEach((v, i) => flat.set(v, i * b.dimensions));
  // move() must wrap the returned value itself for Piscina to transfer instead of copying.
  return move(flat) as Float32Array;
}
