import { describe, expect, it } from 'vitest';
import { normaliseText } from '../../adapters/kit/normalise.ts';
import { FAQ_STATE, normaliseKey, partitionId, type CacheKey } from '../../engine/cache/cache-key.ts';
import { MAX_PHRASES_PER_ENTRY, PartitionedIndex, type IndexItem } from '../../engine/cache/partitioned-index.ts';

const DIMS = 8;
const HNSW = { m: 8, efConstruction: 64, ef: 64 };

/** A unit vector pointing mostly along one axis: distinct axes are far apart. */
function axis(i: number, wobble = 0): Float32Array {
  const v = new Float32Array(DIMS).fill(0.01);
  v[i % DIMS] = 1;
  v[(i + 1) % DIMS] += wobble;
  return v;
}

function make(over: { capacity?: number; ttlMs?: number } = {}, clock = { t: 1_000_000 }) {
  const index = new PartitionedIndex({ dimensions: DIMS, hnsw: HNSW, capacity: over.capacity ?? 100, ttlMs: over.ttlMs ?? 60_000, now: () => clock.t });
  return { index, clock };
}

function item(query: string, answer: string, over: Partial<CacheKey> = {}, entryId?: string): IndexItem {
  const key = normaliseKey({ workflow: 'dental', state: FAQ_STATE, language: 'en-US', voice: 'v', ...over });
  return { key, pkey: partitionId(key), query, norm: normaliseText(query), answer, source: 'learned', entryId };
}

describe('PartitionedIndex', () => {
  it('keeps the exact tier per partition', () => {
    const { index } = make();
    const a = item('Is there parking?', 'Yes.');
    const id = index.insert(a, axis(0));
    expect(index.exact(a.pkey, a.norm)?.id).toBe(id);
    const other = item('Is there parking?', 'Sí.', { language: 'es' });
    expect(index.exact(other.pkey, other.norm)).toBeUndefined();
    expect(index.nearest(other.pkey, axis(0), 8, 0)).toEqual([]);
    expect(index.partitionCount).toBe(1);
  });

  it('extends the entry already holding a question; a new answer restarts the TTL and drops audio', () => {
    const { index, clock } = make();
    const id = index.insert(item('Is there parking?', 'Yes.'), axis(0));
    index.attachAudio(id, 'v', new Uint8Array([1]));
    clock.t += 10_000;
    expect(index.insert(item('is there parking', 'Yes.'), axis(0))).toBe(id);
    expect(index.peek(id)!.audio.size).toBe(1); // same answer: audio kept
    expect(index.insert(item('Is there parking?', 'Yes, behind the building.'), axis(0))).toBe(id);
    const e = index.peek(id)!;
    expect(e.answer).toBe('Yes, behind the building.');
    expect(e.audio.size).toBe(0);
    expect(e.expiresAt).toBe(clock.t + 60_000);
    expect(e.phrases).toHaveLength(1);
  });

  it('moves a question to a new entry id: the newer answer wins and the emptied entry goes', () => {
    const { index } = make();
    const a = item('Is there parking?', 'Yes.');
    const old = index.insert(a, axis(0));
    // The partition's only phrase moves: the partition must survive it (it was dropped once).
    const fresh = index.insert(item('Is there parking?', 'No.', {}, 'faq:parking'), axis(0));
    expect(fresh).toBe('faq:parking');
    expect(index.has(old)).toBe(false);
    expect(index.exact(a.pkey, a.norm)?.id).toBe('faq:parking');
    expect(index.nearest(a.pkey, axis(0), 8, 0).map((c) => c.entry.id)).toEqual(['faq:parking']);
    expect(index.partitionCount).toBe(1);
    expect(index.slotStats().live).toBe(1);
  });

  it('caps the phrases of one entry', () => {
    const { index } = make();
    for (let i = 0; i < MAX_PHRASES_PER_ENTRY + 3; i++) index.insert(item(`question ${i} about topic${i}`, 'same', {}, 'e1'), axis(i, i / 10));
    expect(index.peek('e1')!.phrases).toHaveLength(MAX_PHRASES_PER_ENTRY);
  });

  it('returns neighbours most similar first and none under the minimum', () => {
    const { index } = make();
    const near = index.insert(item('first question here', 'a'), axis(0));
    const far = index.insert(item('second question here', 'b'), axis(4));
    const pkey = item('x', 'x').pkey;
    const found = index.nearest(pkey, axis(0, 0.2), 8, -1);
    expect(found.map((c) => c.entry.id)).toEqual([near, far]);
    expect(found[0].similarity).toBeGreaterThan(found[1].similarity);
    expect(index.nearest(pkey, axis(0, 0.2), 8, 0.9).map((c) => c.entry.id)).toEqual([near]);
  });

  it('expires on an absolute TTL that using the entry does not extend', () => {
    const { index, clock } = make({ ttlMs: 60_000 });
    const id = index.insert(item('Do you treat children?', 'From three.'), axis(1));
    const e = index.peek(id)!;
    clock.t += 59_999;
    index.touch(id);
    expect(index.isLive(e)).toBe(true);
    clock.t += 1;
    expect(index.isLive(e)).toBe(false);
    expect(index.removeIfExpired(e)).toBe(true);
    expect(index.has(id)).toBe(false);
    expect(index.partitionCount).toBe(0); // the empty partition's HNSW index is dropped
  });

  it('removeIfExpired leaves a replacement entry of the same id alone', () => {
    const { index, clock } = make({ ttlMs: 1000 });
    const first = index.peek(index.insert(item('Is there parking?', 'Yes.', {}, 'x'), axis(0)))!;
    clock.t += 2000;
    index.remove(first);
    index.insert(item('Is there parking?', 'Yes.', {}, 'x'), axis(0));
    expect(index.removeIfExpired(first)).toBe(false);
    expect(index.has('x')).toBe(true);
  });

  it('removes every expired entry at once, counting them', () => {
    const { index, clock } = make({ ttlMs: 1000 });
    index.insert(item('first question here', 'a'), axis(0));
    clock.t += 500;
    index.insert(item('second question here', 'b'), axis(1));
    clock.t += 600;
    expect(index.removeExpired()).toBe(1);
    expect(index.size).toBe(1);
  });

  it('evicts the least recently used entries over capacity, across partitions', () => {
    const { index } = make({ capacity: 2 });
    const a = index.insert(item('first question here', 'a'), axis(0));
    const b = index.insert(item('second question here', 'b', { language: 'fr' }), axis(1));
    index.touch(a);
    const c = index.insert(item('third question here', 'c'), axis(2));
    expect(index.evictOverCapacity()).toBe(1);
    expect([index.has(a), index.has(b), index.has(c)]).toEqual([true, false, true]);
    expect(index.partitionCount).toBe(1);
  });

  it('reuses freed HNSW slots, so slots stay flat under churn', () => {
    const { index } = make({ capacity: 20 });
    for (let i = 0; i < 20; i++) index.insert(item(`question ${i} about topic${i}`, `a${i}`), axis(i, i / 100));
    const before = index.slotStats();
    for (let i = 20; i < 400; i++) {
      index.insert(item(`question ${i} about topic${i}`, `a${i}`), axis(i, i / 1000));
      index.evictOverCapacity();
    }
    const after = index.slotStats();
    expect(after.live).toBe(20);
    expect(after.slots).toBe(before.slots);
    expect(after.labelsIssued).toBe(400);
  });

  it('bumps the revision on changes only', () => {
    const { index } = make();
    const r0 = index.revision;
    const it0 = item('Is there parking?', 'Yes.');
    const id = index.insert(it0, axis(0));
    const r1 = index.revision;
    expect(r1).toBeGreaterThan(r0);
    index.touch(id);
    index.exact(it0.pkey, it0.norm);
    index.nearest(it0.pkey, axis(0), 8, 0);
    expect(index.revision).toBe(r1);
    index.attachAudio(id, 'v', new Uint8Array([1]));
    expect(index.revision).toBeGreaterThan(r1);
    expect(index.attachAudio('missing', 'v', new Uint8Array([1]))).toBe(false);
  });

  it('removeWhere removes only what matches', () => {
    const { index } = make();
    index.insert({ ...item('Is there parking?', 'Yes.'), source: 'faq' }, axis(0));
    const learned = index.insert(item('Do you treat children?', 'Yes.'), axis(1));
    expect(index.removeWhere((e) => e.source === 'faq')).toBe(1);
    expect(index.size).toBe(1);
    expect(index.has(learned)).toBe(true);
  });
});
