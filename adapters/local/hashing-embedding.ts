// Offline embedding backend: no model file, any script. Signed feature hashing of word stems,
// word bigrams and character n-grams (per word for spaced scripts; character 1-3-grams for CJK
// and other unspaced scripts) into a fixed number of dimensions, L2-normalised.
// It measures lexical overlap, not meaning: paraphrases with no shared words score low, so the
// cache pairs it with its own threshold (CACHE_HASHING_THRESHOLD) and the near-miss guard.
import type { EmbeddingModule, EmbeddingProvider } from '../kit/types.ts';
import { CJK_FUNCTION_CHARS, FUNCTION_WORDS } from '../kit/lexicon.ts';
import { extractEntities } from '../kit/entities.ts';
import { isCjk, normaliseText, stem, words } from '../kit/normalise.ts';

const FUNCTION = new Set(Object.values(FUNCTION_WORDS).flatMap((s) => [...s]));

// Feature weights: content carries meaning, function words only a little (so "how much is a
// filling" is not close to "how much is whitening" through "how much is a").
const W_WORD = 1.0;
const W_FUNCTION_WORD = 0.2;
const W_BIGRAM = 0.5;
const W_CHARGRAMS = 0.6; // spread over a word's 3- and 4-grams
const W_CJK_CHAR = 1.0;
const W_CJK_FUNCTION_CHAR = 0.25;
const W_CJK_BIGRAM = 0.9;
const W_CJK_TRIGRAM = 0.5;
const W_ENTITY = 1.0; // canonical calendar tags: "monday to friday" meets "weekdays"

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
    const { entities, rest } = extractEntities(normaliseText(text));
    for (const e of entities) add(`e:${e}`, W_ENTITY);
    const toks = words(rest.trim().replace(/\s+/g, ' '));
    const stems: Array<{ s: string; fn: boolean }> = [];
    for (const tok of toks) {
      if ([...tok].some(isCjk)) {
        addCjkRun(tok, add);
        stems.push({ s: tok, fn: false });
        continue;
      }
      const fn = FUNCTION.has(tok);
      const s = stem(tok);
      stems.push({ s, fn });
      add(`w:${s}`, fn ? W_FUNCTION_WORD : W_WORD);
      const grams = charGrams(`<${s}>`);
      const gw = (fn ? W_FUNCTION_WORD : W_CHARGRAMS) / Math.sqrt(grams.length || 1);
      for (const g of grams) add(`g:${g}`, gw);
    }
    for (let i = 0; i + 1 < stems.length; i++) {
      const a = stems[i];
      const b = stems[i + 1];
      if (a.fn && b.fn) continue;
      add(`b:${a.s}_${b.s}`, W_BIGRAM);
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

function addCjkRun(run: string, add: (f: string, w: number) => void): void {
  const chars = [...run];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    add(`c:${c}`, CJK_FUNCTION_CHARS.has(c) ? W_CJK_FUNCTION_CHAR : W_CJK_CHAR);
    if (i + 1 < chars.length) add(`c2:${c}${chars[i + 1]}`, W_CJK_BIGRAM);
    if (i + 2 < chars.length) add(`c3:${c}${chars[i + 1]}${chars[i + 2]}`, W_CJK_TRIGRAM);
  }
}

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
