// The cache's snapshot file: one file, written atomically (temp file, fsync, rename), with a
// SHA-256 trailer so a truncated or corrupted file is detected before anything parses it.
// Layout: "CFWCACHE" | u32 version | u32 header length | header JSON | sections... | sha256.
// A bad file is renamed aside (<file>.corrupt-<timestamp>) and the cache starts empty.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../log.ts';

const MAGIC = Buffer.from('CFWCACHE', 'ascii');
export const SNAPSHOT_VERSION = 1;
const HASH_BYTES = 32;

export interface Snapshot<H> {
  header: H;
  sections: Map<string, Uint8Array>;
}

interface Envelope<H> {
  header: H;
  sections: Array<{ name: string; offset: number; length: number }>;
}

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

export function encodeSnapshot<H>(header: H, sections: Map<string, Uint8Array>): Buffer[] {
  const index: Envelope<H>['sections'] = [];
  let offset = 0;
  for (const [name, bytes] of sections) {
    index.push({ name, offset, length: bytes.byteLength });
    offset += bytes.byteLength;
  }
  const json = Buffer.from(JSON.stringify({ header, sections: index } satisfies Envelope<H>), 'utf8');
  const fixed = Buffer.alloc(MAGIC.length + 8);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt32LE(SNAPSHOT_VERSION, MAGIC.length);
  fixed.writeUInt32LE(json.length, MAGIC.length + 4);
  const chunks: Buffer[] = [fixed, json, ...[...sections.values()].map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))];
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  chunks.push(hash.digest());
  return chunks;
}

export function decodeSnapshot<H>(buf: Buffer): Snapshot<H> {
  const fixedLen = MAGIC.length + 8;
  if (buf.length < fixedLen + HASH_BYTES) throw new SnapshotError(`file is ${buf.length} bytes, too short to be a snapshot (truncated?)`);
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new SnapshotError('not a cache snapshot (bad magic bytes)');
  const version = buf.readUInt32LE(MAGIC.length);
  if (version !== SNAPSHOT_VERSION) throw new SnapshotError(`snapshot version ${version}, this engine reads version ${SNAPSHOT_VERSION}`);
  const body = buf.subarray(0, buf.length - HASH_BYTES);
  const expected = buf.subarray(buf.length - HASH_BYTES);
  if (!createHash('sha256').update(body).digest().equals(expected)) throw new SnapshotError('checksum mismatch (truncated or corrupted)');
  const jsonLen = buf.readUInt32LE(MAGIC.length + 4);
  if (fixedLen + jsonLen > body.length) throw new SnapshotError('header length past end of file');
  let env: Envelope<H>;
  try {
    env = JSON.parse(body.subarray(fixedLen, fixedLen + jsonLen).toString('utf8'));
  } catch (e) {
    throw new SnapshotError(`header is not JSON: ${(e as Error).message}`);
  }
  const base = fixedLen + jsonLen;
  const sections = new Map<string, Uint8Array>();
  for (const s of env.sections ?? []) {
    if (!Number.isInteger(s.offset) || !Number.isInteger(s.length) || s.offset < 0 || s.length < 0 || base + s.offset + s.length > body.length) {
      throw new SnapshotError(`section ${s.name} lies outside the file`);
    }
    sections.set(s.name, body.subarray(base + s.offset, base + s.offset + s.length));
  }
  return { header: env.header, sections };
}

/** Writes chunks to path atomically: a reader sees the old file or the new one, never half. */
export async function writeFileAtomic(path: string, chunks: Uint8Array[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
  const fh = await open(tmp, 'w');
  try {
    for (const c of chunks) await fh.write(c);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  // Make the rename itself durable; not every filesystem lets a directory be fsynced.
  try {
    const dh = await open(dirname(path), 'r');
    await dh.sync().catch(() => {});
    await dh.close();
  } catch {
    /* best effort */
  }
}

/**
 * Reads and verifies a snapshot. Missing file: null. Unreadable or corrupt file: logged, renamed
 * to <path>.corrupt-<ts> so it can be inspected, and null (the cache starts empty). Never throws.
 */
export async function readSnapshot<H>(path: string, log: Logger, now: () => number = Date.now): Promise<Snapshot<H> | null> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    log.error({ path, err: (e as Error).message }, 'cache snapshot unreadable; starting with an empty cache');
    return null;
  }
  try {
    return decodeSnapshot<H>(buf);
  } catch (e) {
    await setAside(path, (e as Error).message, log, now);
    return null;
  }
}

/** Renames a bad snapshot out of the way and logs where it went. */
export async function setAside(path: string, why: string, log: Logger, now: () => number = Date.now): Promise<string | null> {
  const aside = `${path}.corrupt-${new Date(now()).toISOString().replace(/[:.]/g, '-')}`;
  try {
    await rename(path, aside);
    log.error({ path, aside, reason: why }, 'cache snapshot is corrupt; kept it aside and starting with an empty cache');
    return aside;
  } catch (e) {
    log.error({ path, reason: why, renameError: (e as Error).message }, 'cache snapshot is corrupt and could not be renamed; starting with an empty cache');
    return null;
  }
}
