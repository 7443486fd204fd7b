// Semantic cache micro-benchmarks (tinybench). Prints figures and writes bench/results/cache.json.
//   npx tsx bench/micro/cache.bench.ts
// Env: BENCH_CACHE_SIZES=10000,100000  BENCH_CACHE_CYCLES=100000 (1000000 for the full figure, ~20 min here)  BENCH_CACHE_DIMS=384
// 1. HNSW parameters: recall@1 against brute force and search latency, over M and ef.
// 2. Lookup cost excluding embedding (HNSW search + guard + bookkeeping) at 10k and 100k entries.
// 3. Embedding cost per backend.
// 4. Memory over insert/evict cycles at a fixed capacity (slots must be reused).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import { HashingEmbedding } from '../../adapters/local/hashing-embedding.ts';
import { OpenAiEmbedding } from '../../adapters/openai/embeddings.ts';
import type { EmbeddingProvider } from '../../adapters/kit/types.ts';
import { modelFiles } from '../../adapters/transformers/embedding.ts';
import { EmbedPool } from '../../engine/cache/embed-pool.ts';
import { SlotIndex } from '../../engine/cache/hnsw-index.ts';
import { FAQ_STATE, ResponseCache } from '../../engine/cache/index.ts';
import { loadConfig } from '../../engine/config.ts';

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const DIMS = Number(process.env.BENCH_CACHE_DIMS ?? 384);
const SIZES = (process.env.BENCH_CACHE_SIZES ?? '10000,100000').split(',').map(Number);
const CYCLES = Number(process.env.BENCH_CACHE_CYCLES ?? 100_000);
/** Sections to run (BENCH_CACHE_SECTIONS=4 reruns only the memory figure); others keep their last results. */
const SECTIONS = new Set((process.env.BENCH_CACHE_SECTIONS ?? '1,2,3,4').split(',').map((x) => x.trim()));
/** BENCH_CACHE_OUT names the results file (the quick bench profile writes cache-quick.json). */
const OUT = process.env.BENCH_CACHE_OUT ?? 'cache.json';
if (!/^[\w.-]+\.json$/.test(OUT)) throw new Error(`BENCH_CACHE_OUT must be a file name ending in .json, got ${OUT}`);
const RESULTS = new URL(`../results/${OUT}`, import.meta.url);
const os = await import('node:os');
const results: Record<string, unknown> = {
  ...(existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : {}),
  machine: { cpus: os.availableParallelism(), node: process.version, loadAvgAtStart: os.loadavg().map(r3) },
  dims: DIMS,
};

// Deterministic PRNG so runs are comparable.
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}
/**
 * Clustered data, like cache traffic: many phrasings around each intent. Queries are fresh
 * perturbations of stored points (a caller's new phrasing of a known question).
 */
function dataset(n: number, nq: number): { points: Float32Array[]; queries: Float32Array[] } {
  const centres = Array.from({ length: Math.max(1, Math.floor(n / 10)) }, () => unit(Float32Array.from({ length: DIMS }, gauss)));
  const near = (c: Float32Array, s: number) => unit(Float32Array.from(c, (x) => x + s * gauss()));
  const points = Array.from({ length: n }, () => near(centres[Math.floor(rand() * centres.length)], 0.06));
  const queries = Array.from({ length: nq }, () => near(points[Math.floor(rand() * n)], 0.04));
  return { points, queries };
}
function bruteTop1(points: Float32Array[], q: Float32Array): number {
  let best = -1;
  let bestS = -Infinity;
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    let s = 0;
    for (let d = 0; d < DIMS; d++) s += p[d] * q[d];
    if (s > bestS) {
      bestS = s;
      best = i;
    }
  }
  return best;
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

// ------------------------------------------------------------------ 1. recall@1 vs brute force
if (SECTIONS.has('1')) {
  const n = 10_000;
  const { points, queries } = dataset(n, 500);
  const truth = queries.map((q) => bruteTop1(points, q));
  const rows: unknown[] = [];
  console.log(`\n1. HNSW recall@1 vs brute force, ${n} × ${DIMS}, ${queries.length} queries; insert cost with and without slot reuse`);
  for (const [m, efConstruction] of [[8, 64], [12, 64], [16, 64], [16, 100]]) {
    const idx = new SlotIndex(DIMS, { m, efConstruction, ef: 16, initialCapacity: n });
    const t0 = performance.now();
    const labels = points.map((p) => idx.add(p));
    const addMs = (performance.now() - t0) / n;
    for (const ef of [32, 64, 128]) {
      idx.setEf(ef);
      const lat: number[] = [];
      let ok = 0;
      queries.forEach((q, i) => {
        const t = performance.now();
        const [top] = idx.search(q, 1);
        lat.push(performance.now() - t);
        if (top?.label === truth[i]) ok++;
      });
      const row = { m, efConstruction, ef, recallAt1: ok / queries.length, searchP50Ms: r3(pct(lat, 50)), searchP99Ms: r3(pct(lat, 99)), insertMs: r3(addMs) };
      rows.push(row);
      console.log(`   M=${m} efC=${efConstruction} ef=${ef}: recall@1 ${row.recallAt1.toFixed(3)}, search p50 ${row.searchP50Ms} ms p99 ${row.searchP99Ms} ms`);
    }
    // Evict + insert into the freed slot (hnswlib repairs the old node's neighbours: O(M²) distances).
    const t1 = performance.now();
    const reps = 300;
    for (let i = 0; i < reps; i++) {
      idx.remove(labels[i]);
      idx.add(points[(i * 7919) % n]);
    }
    const replaceMs = r3((performance.now() - t1) / reps);
    for (const r of rows.slice(-3) as Array<Record<string, number>>) r.replaceMs = replaceMs;
    console.log(`   M=${m} efC=${efConstruction}: insert ${r3(addMs)} ms, evict+insert into a reused slot ${replaceMs} ms`);
  }
  results.recall = rows;
}

// ------------------------------------------------------------------ 2. lookup cost excluding embedding
/** Looks texts up in a table of precomputed vectors, so the cache's own costs are what is timed. */
class TableEmbedder implements EmbeddingProvider {
  readonly name = 'table';
  readonly dimensions = DIMS;
  readonly table = new Map<string, Float32Array>();
  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.table.get(t) ?? unit(Float32Array.from({ length: DIMS }, gauss)));
  }
}
if (SECTIONS.has('2')) {
  results.lookup = [];
  console.log(`\n2. Lookup cost excluding embedding (HNSW k=8 + guard + LRU), configured M=${loadConfig({}).CACHE_HNSW_M} efC=${loadConfig({}).CACHE_HNSW_EF_CONSTRUCTION} ef=${loadConfig({}).CACHE_HNSW_EF}`);
  // Two cases: at the configured threshold (these queries have no neighbour above it: HNSW and
  // bookkeeping only, the common miss), and with the threshold at 0 so all 8 nearest reach the
  // guard (question read once, 8 verdicts, every one refused: the most work a lookup does).
  for (const [n, guarded] of SIZES.flatMap((size) => [[size, false], [size, true]] as const)) {
    const { points, queries } = dataset(n, 2000);
    const emb = new TableEmbedder();
    const cfg = loadConfig({}, { CACHE_CAPACITY: n, CACHE_EMBED_THREADS: 0, ...(guarded ? { CACHE_THRESHOLD: 0 } : {}) });
    const cache = await ResponseCache.create(cfg, { embedder: emb, persist: false });
    const key = { workflow: 'bench', state: FAQ_STATE, language: 'en', voice: 'v' };
    const t0 = performance.now();
    const batch: Promise<string>[] = [];
    for (let i = 0; i < n; i++) {
      const text = `caller question number ${i} about topic ${i % 997}`;
      emb.table.set(text.replace(/ +/g, ' '), points[i]);
      batch.push(cache.put(key, text, `answer ${i}`));
      if (batch.length >= 1000) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    const buildS = (performance.now() - t0) / 1000;
    const { key: k, pkey } = cache.partitionOf(key);
    let qi = 0;
    const bench = new Bench({ time: 2000, warmupTime: 200 });
    bench.add(`lookup ${n}`, () => {
      const q = queries[qi++ % queries.length];
      cache.searchVector(k, pkey, 'caller question about a topic', q);
    });
    await bench.run();
    const lat = (bench.tasks[0].result as { latency: { p50: number; p99: number; mean: number } }).latency;
    // The same lookups timed in CPU time as well (process.cpuUsage, µs): on this shared 2-core
    // machine a wall-clock p99 mostly measures other processes' time slices; CPU time is the
    // lookup's own cost (with GC work, which runs on this thread or beside it).
    const cpu: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const q = queries[qi++ % queries.length];
      const c0 = process.cpuUsage();
      cache.searchVector(k, pkey, 'caller question about a topic', q);
      const c1 = process.cpuUsage(c0);
      cpu.push((c1.user + c1.system) / 1000);
    }
    const row = {
      entries: n,
      candidatesGuarded: guarded ? 8 : 0,
      p50Ms: r3(lat.p50),
      p99Ms: r3(lat.p99),
      meanMs: r3(lat.mean),
      cpuP50Ms: r3(pct(cpu, 50)),
      cpuP99Ms: r3(pct(cpu, 99)),
      buildS: r3(buildS),
      loadAvg: os.loadavg().map(r3),
    };
    (results.lookup as unknown[]).push(row);
    console.log(
      `   ${n} entries${guarded ? ', 8 candidates guarded' : ''}: p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms (goal ≤ ${n <= 10_000 ? 1 : 2} ms p99); CPU time p50 ${row.cpuP50Ms} ms, p99 ${row.cpuP99Ms} ms; filled in ${row.buildS} s; load ${row.loadAvg.join(' ')}`,
    );
    await cache.close();
  }
}

// ------------------------------------------------------------------ 3. embedding cost per backend
if (SECTIONS.has('3')) {
  console.log('\n3. Embedding cost per backend (one short question unless noted)');
  const q = 'what time do you open on saturday morning';
  const hashing = new HashingEmbedding({ dimensions: 512 });
  const pool = await EmbedPool.start({ kind: 'hashing', dimensions: 512 }, { threads: 1 });
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      const data = (body.input as string[]).map((_, index) => ({ object: 'embedding', index, embedding: Buffer.from(new Float32Array(1536).fill(0.01).buffer).toString('base64') }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const openai = new OpenAiEmbedding({ apiKey: 'bench', baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, model: 'text-embedding-3-small', maxRetries: 0 });
  const bench = new Bench({ time: 1500, warmupTime: 200 });
  bench
    .add('hashing, main thread', () => void hashing.embedOne(q))
    .add('hashing, Piscina pool (round trip)', async () => void (await pool.embed([q])))
    .add('hashing, Piscina pool, 16 concurrent lookups (per text)', async () => void (await Promise.all(Array.from({ length: 16 }, () => pool.embed([q])))))
    .add('openai client over loopback HTTP (client+HTTP overhead only)', async () => void (await openai.embed([q])));
  await bench.run();
  const rows = bench.tasks.map((t) => {
    const lat = (t.result as { latency: { p50: number; p99: number } }).latency;
    const per = t.name.includes('16 concurrent') ? 16 : 1;
    return { backend: t.name, p50Ms: r3(lat.p50 / per), p99Ms: r3(lat.p99 / per) };
  });
  const tf = modelFiles({ model: 'Xenova/paraphrase-multilingual-MiniLM-L12-v2', modelDir: 'data/models' });
  rows.push({ backend: `transformers (${tf.missing.length ? `not measured: no model at ${tf.folder}` : 'model present: run with the model to measure'})`, p50Ms: NaN, p99Ms: NaN });
  for (const r of rows) console.log(`   ${r.backend}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
  results.embedding = rows;
  await pool.close();
  await new Promise((r) => server.close(r));
}

// ------------------------------------------------------------------ 4. memory over insert/evict cycles
// Run with --expose-gc so each sample follows a full collection (otherwise the heap figure
// includes garbage not yet collected): node --expose-gc --import tsx bench/micro/cache.bench.ts
if (SECTIONS.has('4')) {
  const capacity = 1000;
  console.log(`\n4. Memory over ${CYCLES.toLocaleString()} insert/evict cycles at capacity ${capacity} (${DIMS} dims)`);
  const emb = new TableEmbedder();
  const cfg = loadConfig({}, { CACHE_CAPACITY: capacity, CACHE_EMBED_THREADS: 0 });
  const cache = await ResponseCache.create(cfg, { embedder: emb, persist: false });
  const key = { workflow: 'bench', state: FAQ_STATE, language: 'en', voice: 'v' };
  const samples: unknown[] = [];
  const every = Math.max(1, Math.floor(CYCLES / 10));
  const t0 = performance.now();
  for (let i = 1; i <= CYCLES; i++) {
    await cache.put(key, `question ${i}`, `answer ${i}`);
    if (i % every === 0 || i === capacity) {
      globalThis.gc?.();
      const m = process.memoryUsage();
      const ix = cache.indexStats();
      const s = { cycles: i, rssMB: r3(m.rss / 2 ** 20), heapUsedMB: r3(m.heapUsed / 2 ** 20), entries: cache.stats().entries, hnswSlots: ix.slots, deletedSlots: ix.deleted };
      samples.push(s);
      console.log(`   after ${i.toLocaleString()}: rss ${s.rssMB.toFixed(1)} MB, heap ${s.heapUsedMB.toFixed(1)} MB, entries ${s.entries}, HNSW slots ${s.hnswSlots}`);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`   ${(CYCLES / secs).toFixed(0)} insert+evict per second`);
  results.memory = { capacity, cycles: CYCLES, seconds: r3(secs), gcBeforeSamples: typeof globalThis.gc === 'function', samples };
  await cache.close();
}

mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote bench/results/${OUT}`);
