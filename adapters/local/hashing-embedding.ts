// Offline embedding backend: no model file, any script. Signed feature hashing of what
// kit/normalise.ts readQuestion() reads in a question: lexicon concepts (so "car park",
// "parking", "estacionamiento", "泊車" and "停车场" meet), calendar entities, numbers, word stems
// with their character 3/4-grams (a misheard word keeps most of its grams), CJK characters and
// character bigrams, and pairs of neighbouring content units, into a fixed number of dimensions,
// L2-normalised. Traditional and Simplified Chinese and accented and plain Latin letters read
// alike. It measures shared meaning through the lexicon and shared surface beyond it, not
// meaning at large: the cache pairs it with its own threshold (CACHE_HASHING_THRESHOLD) and the
// near-miss guard.
import type { EmbeddingModule, EmbeddingProvider } from '../kit/types.ts';
import { normaliseText, readQuestion } from '../kit/normalise.ts';

/** Bumped whenever the features change: vectors of another version mean nothing (the cache's snapshot re-embeds). */
export const HASHING_FEATURES_VERSION = 9;

// Feature weights: concepts and content carry meaning, function words only a little (so "how
// much is a filling" is not close to "how much is whitening" through "how much is a").
const W_CONCEPT = 1.0;
const W_WORD = 1.0;
const W_FUNCTION = 0.15;
const W_CHARGRAMS = 0.5; // spread over a word's 3- and 4-grams
const W_SURFACE = 0.3; // a concept's own word or characters, beside the concept
const W_CJK_CHAR = 0.9;
const W_CJK_BIGRAM = 0.35;
const W_PAIR = 0.35; // neighbouring content units, in order
const W_ENTITY = 1.0;
const W_NUMBER = 0.8;
const W_NEGATED = 0.6;
const W_HEARD = 0.5; // the concept a misheard word sounds like, beside the word

export interface HashingEmbeddingOptions {
  /** Vector size; 384-1024 keeps collisions rare for short questions. */
  dimensions?: number;
}

export class HashingEmbedding implements EmbeddingProvider {
  readonly name = 'hashing';
  readonly dimensions: number;

  constructor(opts: HashingEmbeddingOptions = {}) {
    const d = opts.dimensions ?? 512;
    if (!Number.isInteger(d) || d < 16 || d > 65536) throw new Error(`hashing embedding: dimensions must be an integer in 16..65536, got ${d}`);
    this.dimensions = d;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    return texts.map((t) => this.embedOne(t));
  }

  /** Synchronous form, for the worker and for benchmarks. */
  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dimensions);
    const add = (feature: string, weight: number) => {
      const h = fnv1a(feature);
      const idx = h % this.dimensions;
      v[idx] += (h & 0x80000000 ? -1 : 1) * weight;
    };
    const r = readQuestion(normaliseText(text));
    for (const e of r.entities) add(`e:${e}`, W_ENTITY);
    for (const n of r.numbers) add(`n:${n}`, W_NUMBER);
    let prev: string | null = null;
    for (const u of r.units) {
      const concept = u.key.startsWith('k:');
      if (u.fn) add(`u:${u.key}`, W_FUNCTION);
      else add(`u:${u.key}`, concept ? W_CONCEPT : u.cjk ? W_CJK_CHAR : W_WORD);
      if (u.negated) add(`not:${u.key}`, W_NEGATED);
      if (u.heard) add(`u:${u.heard.key}`, W_HEARD);
      if (u.cjk) {
        const cs = [...u.surface];
        if (concept) for (const c of cs) add(`u:c:${c}`, W_SURFACE / cs.length);
        for (let i = 0; i + 1 < cs.length; i++) add(`c2:${cs[i]}${cs[i + 1]}`, W_CJK_BIGRAM);
      } else if (!u.fn || concept) {
        if (concept) add(`u:${u.surface}`, W_SURFACE);
        const grams = charGrams(`<${u.surface}>`);
        const gw = (concept ? W_SURFACE : W_CHARGRAMS) / Math.sqrt(grams.length || 1);
        for (const g of grams) add(`g:${g}`, gw);
      }
      if (!u.fn) {
        if (prev) add(`p:${prev}_${u.key}`, W_PAIR);
        prev = u.key;
      }
    }
    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += v[i] * v[i];
    if (norm === 0) {
      // Empty text: a fixed unit vector, so the index never sees a zero vector.
      add('∅', 1);
      norm = 1;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < v.length; i++) v[i] *= inv;
    return v;
  }
}

/** For the embedding pool's threads (workers/embed.ts). */
export const createEmbedding: EmbeddingModule<HashingEmbeddingOptions>['createEmbedding'] = (options) => new HashingEmbedding(options);

function charGrams(w: string): string[] {
  const out: string[] = [];
  const cs = [...w];
  for (const n of [3, 4]) for (let i = 0; i + n <= cs.length; i++) out.push(cs.slice(i, i + n).join(''));
  return out;
}

/** 32-bit FNV-1a over UTF-16 code units; fast and well spread for short strings. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
