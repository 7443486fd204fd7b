// What the cache's snapshot holds, and how the index is turned into it and back. persist.ts is
// the file itself (container format, checksum, atomic write, corrupt files set aside); this is
// its content: a JSON header listing partitions and entries (oldest first, so the LRU order
// survives), one section per partition with its serialised HNSW index ("p0", "p1", …), and one
// "audio" section with every entry's μ-law clips back to back.
import { normaliseText } from '../../adapters/kit/normalise.ts';
import { HASHING_FEATURES_VERSION } from '../../adapters/local/hashing-embedding.ts';
import { normaliseKey, partitionId, type CacheKey } from './cache-key.ts';
import { SlotIndex } from './hnsw-index.ts';
import type { EntryFields, EntrySource, PartitionedIndex } from './partitioned-index.ts';
import type { Snapshot } from './persist.ts';
import type { TransitionRow } from './transitions.ts';

export interface SnapshotHeader {
  savedAt: number;
  /** The embedding backend's name without "@pool" and its dimensions: what the vectors mean. */
  backend: string;
  dimensions: number;
  /** The hashing backend's features version (absent: version 1); other versions' vectors are re-computed. */
  features?: number;
  partitions: Array<{ section: string; key: CacheKey; live: number; nextLabel: number }>;
  entries: Array<
    EntryFields & {
      phrases: Array<{ label: number; text: string }>;
      audio: Array<{ voice: string; offset: number; length: number }>;
    }
  >;
  /** Which entry followed which in calls (transitions.ts); absent in older snapshots. */
  transitions?: TransitionRow[];
}

/** A question to embed again when the stored vectors came from another backend. */
export interface StoredQuestion {
  key: CacheKey;
  query: string;
  answer: string;
  source: EntrySource;
  entryId: string;
}

/** "hashing@pool" and "hashing" produce the same vectors. */
export function vectorsName(providerName: string): string {
  return providerName.replace(/@pool$/, '');
}

/** The index as a snapshot's header and sections. */
export async function encodeIndex(index: PartitionedIndex, meta: { savedAt: number; backend: string; dimensions: number }): Promise<Snapshot<SnapshotHeader>> {
  const sections = new Map<string, Uint8Array>();
  const backend = vectorsName(meta.backend);
  const header: SnapshotHeader = { savedAt: meta.savedAt, backend, dimensions: meta.dimensions, ...(backend === 'hashing' ? { features: HASHING_FEATURES_VERSION } : {}), partitions: [], entries: [] };
  let i = 0;
  for (const p of index.partitionIndexes()) {
    const section = `p${i++}`;
    sections.set(section, await p.index.serialise());
    header.partitions.push({ section, key: p.key, live: p.index.size, nextLabel: p.index.labelsIssued });
  }
  const clips: Uint8Array[] = [];
  let offset = 0;
  for (const e of index.entriesByAge()) {
    const audio: SnapshotHeader['entries'][number]['audio'] = [];
    for (const [voice, bytes] of e.audio) {
      audio.push({ voice, offset, length: bytes.length });
      clips.push(bytes);
      offset += bytes.length;
    }
    header.entries.push({ id: e.id, key: e.key, answer: e.answer, source: e.source, createdAt: e.createdAt, expiresAt: e.expiresAt, phrases: e.phrases.map((ph) => ({ label: ph.label, text: ph.text })), audio });
  }
  sections.set('audio', Buffer.concat(clips));
  return { header, sections };
}

/** Throws when the header is not a cache snapshot's (its checksum can pass and still not fit). */
export function checkHeader(h: SnapshotHeader | undefined): asserts h is SnapshotHeader {
  if (!h || !Array.isArray(h.partitions) || !Array.isArray(h.entries)) throw new Error('header lacks partitions/entries');
}

/** Whether the stored vectors can be used as they are by this backend. */
export function sameVectors(h: SnapshotHeader, backend: string, dimensions: number): boolean {
  const name = vectorsName(backend);
  return h.backend === name && h.dimensions === dimensions && (name !== 'hashing' || (h.features ?? 1) === HASHING_FEATURES_VERSION);
}

/** Loads the stored HNSW indexes and entries into the index. Throws if they do not fit together. */
export async function restoreIndex(index: PartitionedIndex, snap: Snapshot<SnapshotHeader>): Promise<void> {
  const h = snap.header;
  const audio = audioSection(snap);
  const partitions: Parameters<PartitionedIndex['restore']>[0] = [];
  for (const p of h.partitions) {
    const bytes = snap.sections.get(p.section);
    if (!bytes) throw new Error(`missing index section ${p.section}`);
    const k = normaliseKey(p.key);
    partitions.push({ key: k, pkey: partitionId(k), index: await SlotIndex.deserialise(bytes, h.dimensions, { ...index.hnsw }, p.live, p.nextLabel) });
  }
  index.restore(
    partitions,
    h.entries.map((r) => {
      const k = normaliseKey(r.key);
      return {
        id: r.id,
        key: k,
        pkey: partitionId(k),
        answer: r.answer,
        source: r.source,
        createdAt: r.createdAt,
        expiresAt: r.expiresAt,
        phrases: r.phrases.map((ph) => ({ label: ph.label, text: ph.text, norm: normaliseText(ph.text) })),
        audio: clipsOf(r, audio),
      };
    }),
  );
}

/** The unexpired entries' questions, for an index whose vectors must be computed again. */
export function storedQuestions(h: SnapshotHeader, now: number): StoredQuestion[] {
  const items: StoredQuestion[] = [];
  for (const e of h.entries) {
    if (e.expiresAt <= now) continue;
    for (const ph of e.phrases) items.push({ key: e.key, query: ph.text, answer: e.answer, source: e.source, entryId: e.id });
  }
  return items;
}

/** After re-embedding: the entries get back their stored times (TTL stays absolute) and audio. */
export function restoreTimesAndAudio(index: PartitionedIndex, snap: Snapshot<SnapshotHeader>): void {
  const audio = audioSection(snap);
  for (const e of snap.header.entries) {
    const live = index.peek(e.id);
    if (!live) continue;
    live.createdAt = e.createdAt;
    live.expiresAt = e.expiresAt;
    for (const [voice, clip] of clipsOf(e, audio)) live.audio.set(voice, clip);
  }
}

function audioSection(snap: Snapshot<SnapshotHeader>): Uint8Array {
  return snap.sections.get('audio') ?? new Uint8Array(0);
}

/** Copies, so an entry's clip does not keep the whole file's buffer alive. */
function clipsOf(e: SnapshotHeader['entries'][number], audio: Uint8Array): Map<string, Uint8Array> {
  const clips = new Map<string, Uint8Array>();
  for (const a of e.audio) clips.set(a.voice, Uint8Array.from(audio.subarray(a.offset, a.offset + a.length)));
  return clips;
}
