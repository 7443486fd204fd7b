import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HASHING_FEATURES_VERSION, HashingEmbedding } from '../../adapters/local/hashing-embedding.ts';
import { normaliseText } from '../../adapters/kit/normalise.ts';
import { FAQ_STATE, normaliseKey, partitionId, type CacheKey } from '../../engine/cache/cache-key.ts';
import { ResponseCache } from '../../engine/cache/index.ts';
import { PartitionedIndex, type IndexItem } from '../../engine/cache/partitioned-index.ts';
import { decodeSnapshot, encodeSnapshot, writeFileAtomic } from '../../engine/cache/persist.ts';
import { checkHeader, encodeIndex, restoreIndex, sameVectors, storedQuestions, type SnapshotHeader } from '../../engine/cache/snapshot.ts';
import { loadConfig } from '../../engine/config.ts';

const DIMS = 8;
const clock = { t: 1_000_000 };
const newIndex = () => new PartitionedIndex({ dimensions: DIMS, hnsw: { m: 8, efConstruction: 64, ef: 64 }, capacity: 100, ttlMs: 60_000, now: () => clock.t });
const vec = (i: number) => Float32Array.from({ length: DIMS }, (_, d) => (d === i ? 1 : 0.05 * (d + 1)));

function item(query: string, answer: string, over: Partial<CacheKey> = {}): IndexItem {
  const key = normaliseKey({ workflow: 'dental', state: FAQ_STATE, language: 'en', voice: 'v', ...over });
  return { key, pkey: partitionId(key), query, norm: normaliseText(query), answer, source: 'learned' };
}

/** Through the real file format: encode, frame with the checksum, decode. */
async function roundTrip(index: PartitionedIndex) {
  const snap = await encodeIndex(index, { savedAt: clock.t, backend: 'hashing@pool', dimensions: DIMS });
  return decodeSnapshot<SnapshotHeader>(Buffer.concat(encodeSnapshot(snap.header, snap.sections)));
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('cache snapshot content', () => {
  it('round-trips entries, LRU order, audio, partitions and HNSW labels', async () => {
    const a = newIndex();
    const parking = item('Is there parking?', 'Yes.');
    const p = a.insert(parking, vec(0));
    const kids = a.insert(item('Do you treat children?', 'From three.'), vec(1));
    const es = a.insert(item('¿Hay aparcamiento?', 'Sí.', { language: 'es' }), vec(2));
    a.attachAudio(p, 'v', new Uint8Array([1, 2, 3]));
    a.touch(p); // p is now the youngest

    const snap = await roundTrip(a);
    expect(snap.header.backend).toBe('hashing');
    const b = newIndex();
    await restoreIndex(b, snap);
    expect([...b.entriesByAge()].map((e) => e.id)).toEqual([kids, es, p]);
    expect(b.partitionCount).toBe(2);
    expect(Array.from(b.peek(p)!.audio.get('v')!)).toEqual([1, 2, 3]);
    expect(b.exact(parking.pkey, parking.norm)?.id).toBe(p);
    expect(b.nearest(parking.pkey, vec(1), 1, 0)[0].entry.id).toBe(kids);
    expect(b.slotStats()).toEqual(a.slotStats());
    // Labels continue after the stored ones, so a new phrase cannot take a loaded one's label.
    const more = b.insert(item('Do you accept insurance?', 'Most plans.'), vec(3));
    expect(b.peek(more)!.phrases[0].label).toBe(2);
    expect(b.nearest(parking.pkey, vec(0), 1, 0)[0].entry.id).toBe(p);
  });

  it('rejects content that passes the checksum but does not fit together', async () => {
    const a = newIndex();
    a.insert(item('Is there parking?', 'Yes.'), vec(0));
    const snap = await roundTrip(a);
    expect(() => checkHeader({ savedAt: 1 } as unknown as SnapshotHeader)).toThrow(/partitions\/entries/);
    const noSection = { header: snap.header, sections: new Map([...snap.sections].filter(([name]) => name !== 'p0')) };
    await expect(restoreIndex(newIndex(), noSection)).rejects.toThrow(/missing index section p0/);
    const orphan = { ...snap, header: { ...snap.header, partitions: [] } };
    await expect(restoreIndex(newIndex(), orphan)).rejects.toThrow(/missing partition/);
  });

  it('knows when stored vectors can be reused, and lists the live questions to embed again', async () => {
    const a = newIndex();
    a.insert({ ...item('Is there parking?', 'Yes.'), entryId: 'keep' }, vec(0));
    a.insert({ ...item('Where can I park?', 'Yes.'), entryId: 'keep' }, vec(1));
    const { header } = await roundTrip(a);
    expect(sameVectors(header, 'hashing', DIMS)).toBe(true);
    expect(sameVectors(header, 'hashing@pool', DIMS + 1)).toBe(false);
    expect(sameVectors(header, 'openai', DIMS)).toBe(false);
    expect(storedQuestions(header, clock.t).map((q) => [q.entryId, q.query])).toEqual([['keep', 'Is there parking?'], ['keep', 'Where can I park?']]);
    expect(storedQuestions(header, clock.t + 60_000)).toEqual([]);
  });

  it('a cache given a well-formed file with inconsistent content sets it aside and starts empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfw-snapshot-test-'));
    dirs.push(dir);
    const header = { savedAt: 1, backend: 'hashing', dimensions: 256, features: HASHING_FEATURES_VERSION, partitions: [], entries: [{ id: 'x', key: { workflow: 'w', state: 'faq', language: 'en', voice: '' }, answer: 'a', source: 'learned', createdAt: 1, expiresAt: Date.now() + 60_000, phrases: [{ label: 0, text: 'q' }], audio: [] }] };
    await writeFileAtomic(join(dir, 'cache.snapshot'), encodeSnapshot(header, new Map([['audio', new Uint8Array(0)]])));
    const cfg = loadConfig({}, { CACHE_DIR: dir, CACHE_EMBED_THREADS: 0 });
    const c = await ResponseCache.create(cfg, { embedder: new HashingEmbedding({ dimensions: 256 }) });
    expect(c.stats().entries).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('cache.snapshot.corrupt-'))).toHaveLength(1);
    await c.close();
  });

  it('the cache rewrites its snapshot only after a change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfw-snapshot-test-'));
    dirs.push(dir);
    let t = 1_000_000;
    const cfg = loadConfig({}, { CACHE_DIR: dir, CACHE_EMBED_THREADS: 0 });
    const c = await ResponseCache.create(cfg, { embedder: new HashingEmbedding({ dimensions: 256 }), now: () => t });
    const id = await c.put({ workflow: 'w', state: FAQ_STATE, language: 'en', voice: 'v' }, 'Is there parking?', 'Yes.');
    await c.persist();
    expect(c.stats().persistedAt).toBe(t);
    t += 1000;
    await c.persist();
    expect(c.stats().persistedAt).toBe(t - 1000); // nothing new: not written
    c.attachAudio(id, 'v', new Uint8Array([7]));
    await c.persist();
    expect(c.stats().persistedAt).toBe(t);
    await c.close();
  });
});
