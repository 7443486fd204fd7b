// The real openai client against a loopback server speaking POST /v1/embeddings.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiEmbedding } from '../../adapters/openai/embeddings.ts';
import { ProviderError } from '../../adapters/kit/types.ts';
import { loadConfig } from '../../engine/config.ts';
import { FAQ_STATE, ResponseCache } from '../../engine/cache/index.ts';

const DIMS = 8;
let server: Server;
let baseURL: string;
const requests: Array<{ auth?: string; body: { input: string[]; model: string; encoding_format?: string; dimensions?: number } }> = [];

/** Deterministic, not unit length: the adapter must normalise. */
function vectorFor(text: string): number[] {
  const v = new Array(DIMS).fill(0.5);
  for (let i = 0; i < text.length; i++) v[text.charCodeAt(i) % DIMS] += 1;
  return v;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (req.url !== '/v1/embeddings' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw);
      requests.push({ auth: req.headers.authorization, body });
      if (req.headers.authorization !== 'Bearer sk-test') {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }));
        return;
      }
      const inputs: string[] = Array.isArray(body.input) ? body.input : [body.input];
      // Answer out of order: clients must order by `index`.
      const data = inputs
        .map((t, index) => {
          const v = vectorFor(t);
          const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
          return { object: 'embedding', index, embedding };
        })
        .reverse();
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: inputs.length, total_tokens: inputs.length } }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('OpenAI embeddings backend (real client, loopback server)', () => {
  it('requests base64 by default, decodes it, keeps input order and returns unit vectors', async () => {
    const p = new OpenAiEmbedding({ apiKey: 'sk-test', baseURL, model: 'test-embed', maxRetries: 0 });
    const out = await p.embed(['hello', 'are you open on saturday', '']);
    const last = requests.at(-1)!;
    expect(last.body.encoding_format).toBe('base64');
    expect(last.body.model).toBe('test-embed');
    expect(last.body.input).toEqual(['hello', 'are you open on saturday', ' ']);
    expect(out).toHaveLength(3);
    expect(p.dimensions).toBe(DIMS);
    for (const [i, t] of ['hello', 'are you open on saturday'].entries()) {
      const v = vectorFor(t);
      const n = Math.hypot(...v);
      expect(Array.from(out[i]).map((x) => +x.toFixed(5))).toEqual(v.map((x) => +(x / n).toFixed(5)));
    }
    expect(Math.hypot(...out[2])).toBeCloseTo(1, 5);
  });

  it('passes `dimensions` through and splits large batches', async () => {
    const p = new OpenAiEmbedding({ apiKey: 'sk-test', baseURL, model: 'test-embed', dimensions: DIMS, maxBatch: 2, maxRetries: 0 });
    const before = requests.length;
    const out = await p.embed(['a', 'b', 'c', 'd', 'e']);
    expect(out).toHaveLength(5);
    expect(requests.length - before).toBe(3);
    expect(requests.at(-1)!.body.dimensions).toBe(DIMS);
  });

  it('maps a 401 to a non-retryable-by-key ProviderError of kind auth', async () => {
    const p = new OpenAiEmbedding({ apiKey: 'wrong', baseURL, model: 'test-embed', maxRetries: 0 });
    const err = await p.embed(['x']).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('auth');
    expect((err as ProviderError).message).toMatch(/401/);
  });

  it('honours an abort signal', async () => {
    const p = new OpenAiEmbedding({ apiKey: 'sk-test', baseURL, model: 'test-embed', maxRetries: 0 });
    const ac = new AbortController();
    ac.abort();
    const err = await p.embed(['x'], ac.signal).catch((e) => e);
    expect((err as ProviderError).kind).toBe('aborted');
  });

  it('backs the cache when CACHE_EMBEDDING_BACKEND=openai', async () => {
    const cfg = loadConfig({}, { CACHE_EMBEDDING_BACKEND: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: baseURL, CACHE_OPENAI_EMBEDDING_MODEL: 'test-embed' });
    const c = await ResponseCache.create(cfg, { persist: false });
    try {
      expect(c.stats().backend).toBe('openai:test-embed');
      expect(c.stats().threshold).toBe(cfg.CACHE_THRESHOLD);
      const key = { workflow: 'w', state: FAQ_STATE, language: 'en', voice: '' };
      const id = await c.put(key, 'Is there parking?', 'Yes.');
      expect((await c.lookup(key, 'is there parking'))?.entryId).toBe(id);
    } finally {
      await c.close();
    }
  });

  it('falls back to the hashing backend when the OpenAI endpoint refuses', async () => {
    const cfg = loadConfig({}, { CACHE_EMBEDDING_BACKEND: 'openai', OPENAI_API_KEY: 'wrong', OPENAI_BASE_URL: baseURL, CACHE_EMBED_THREADS: 0 });
    const c = await ResponseCache.create(cfg, { persist: false });
    try {
      expect(c.stats().backend).toBe('hashing');
    } finally {
      await c.close();
    }
  });
});
