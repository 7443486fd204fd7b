import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HashingEmbedding } from '../../adapters/local/hashing-embedding.ts';
import { loadConfig } from '../../engine/config.ts';
import { FAQ_STATE, ResponseCache, type CacheKey } from '../../engine/cache/index.ts';
import { decodeSnapshot, encodeSnapshot } from '../../engine/cache/persist.ts';
import { Mutex } from '../../engine/cache/mutex.ts';

const key: CacheKey = { workflow: 'dental', state: FAQ_STATE, language: 'en-US', voice: 'en-us' };
const dirs: string[] = [];

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'cfw-cache-test-'));
  dirs.push(d);
  return d;
}

async function make(dir: string, dims = 256): Promise<ResponseCache> {
  const cfg = loadConfig({}, { CACHE_DIR: dir, CACHE_EMBED_THREADS: 0 });
  return ResponseCache.create(cfg, { embedder: new HashingEmbedding({ dimensions: dims }) });
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('persistence', () => {
  it('round-trips entries, audio, LRU order and slot bookkeeping across a restart', async () => {
    const dir = tmp();
    const a = await make(dir);
    const id = await a.put(key, 'Is there parking?', 'Yes, behind the building.');
    await a.put(key, 'Do you treat children?', 'From age three.');
    a.attachAudio(id, 'en-us', new Uint8Array([1, 2, 3, 4]));
    await a.close();
    expect(readdirSync(dir)).toEqual(['cache.snapshot']);

    const b = await make(dir);
    expect(b.stats().entries).toBe(2);
    const hit = await b.lookup(key, 'is there any parking');
    expect(hit?.entryId).toBe(id);
    expect(hit?.text).toBe('Yes, behind the building.');
    expect(Array.from(hit?.audio ?? [])).toEqual([1, 2, 3, 4]);
    // New inserts after a reload keep working (labels continue, no clash with loaded ones).
    await b.put(key, 'Do you accept insurance?', 'Most plans.');
    expect(await b.lookup(key, 'do you treat children')).not.toBeNull();
    expect(await b.lookup(key, 'do you accept insurance')).not.toBeNull();
    await b.close();
  });

  it('re-embeds stored questions when the embedding backend changed', async () => {
    const dir = tmp();
    const a = await make(dir, 256);
    await a.put(key, 'Is there parking?', 'Yes.');
    await a.close();
    const b = await make(dir, 384);
    expect(await b.lookup(key, 'is there parking at all')).not.toBeNull();
    await b.close();
  });

  for (const [name, damage] of [
    ['garbage', (buf: Buffer) => Buffer.from('this is not a snapshot at all, just text')],
    ['truncated', (buf: Buffer) => buf.subarray(0, Math.floor(buf.length / 2))],
    ['bit-flipped', (buf: Buffer) => {
      const c = Buffer.from(buf);
      c[Math.floor(c.length / 2)] ^= 0xff;
      return c;
    }],
    ['empty', () => Buffer.alloc(0)],
  ] as const) {
    it(`starts empty from a ${name} file and keeps it aside`, async () => {
      const dir = tmp();
      const a = await make(dir);
      await a.put(key, 'Is there parking?', 'Yes.');
      await a.close();
      const path = join(dir, 'cache.snapshot');
      const bad = damage(readFileSync(path));
      writeFileSync(path, bad);
      const b = await make(dir);
      expect(b.stats().entries).toBe(0);
      expect(await b.lookup(key, 'is there parking')).toBeNull();
      const aside = readdirSync(dir).filter((f) => f.startsWith('cache.snapshot.corrupt-'));
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(dir, aside[0]))).toEqual(bad);
      // And it works from there on.
      await b.put(key, 'Is there parking?', 'Yes.');
      expect(await b.lookup(key, 'is there parking')).not.toBeNull();
      await b.close();
    });
  }

  it('writes atomically: no temp files are left and the file always decodes', async () => {
    const dir = tmp();
    const a = await make(dir);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      writes.push(a.put(key, `question ${i} about subject${i}`, `answer ${i}`));
      writes.push(a.persist());
    }
    await Promise.all(writes);
    await a.close();
    expect(readdirSync(dir)).toEqual(['cache.snapshot']);
    const snap = decodeSnapshot<{ entries: unknown[] }>(readFileSync(join(dir, 'cache.snapshot')));
    expect(snap.header.entries).toHaveLength(20);
  });

  it('snapshot codec rejects any changed byte', () => {
    const chunks = encodeSnapshot({ hello: 'world' }, new Map([['s', new Uint8Array([9, 8, 7])]]));
    const buf = Buffer.concat(chunks);
    expect(Array.from(decodeSnapshot(buf).sections.get('s')!)).toEqual([9, 8, 7]);
    for (const i of [0, 10, buf.length - 40, buf.length - 1]) {
      const c = Buffer.from(buf);
      c[i] ^= 1;
      expect(() => decodeSnapshot(c)).toThrow();
    }
  });

  it('the mutex runs holders one at a time, in order', async () => {
    const m = new Mutex();
    const log: string[] = [];
    const job = (name: string) => async () => {
      log.push(`${name}+`);
      await new Promise((r) => setImmediate(r));
      log.push(`${name}-`);
    };
    await Promise.all([m.run(job('a')), m.run(job('b')), m.run(job('c'))]);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });
});
