// One partition's vector index: hnswlib-node HNSW in the cosine space, with deleted slots
// reused. Labels are never reused (hnswlib keeps a deleted element's label until its slot is
// replaced, so reusing a label could unlink a live element); the index grows by doubling only
// when no deleted slot is free, so its size stays at about the partition's peak live count.
import hnswlib from 'hnswlib-node';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

export interface HnswParams {
  /** Graph degree. */
  m: number;
  efConstruction: number;
  /** Search breadth (raised to k when smaller). */
  ef: number;
  initialCapacity?: number;
}

export interface Neighbour {
  label: number;
  /** Cosine similarity, 1 = same direction. */
  similarity: number;
}

const MAX_LABEL = 0xffff_ffff; // hnswlib-node passes labels as uint32

export class SlotIndex {
  private index: hnswlib.HierarchicalNSW;
  private capacity: number;
  private live = 0;
  private deleted = 0;
  private nextLabel = 0;

  constructor(
    readonly dimensions: number,
    private readonly params: HnswParams,
    restored?: { index: hnswlib.HierarchicalNSW; live: number; nextLabel: number },
  ) {
    if (restored) {
      this.index = restored.index;
      this.capacity = this.index.getMaxElements();
      this.live = restored.live;
      this.deleted = this.index.getCurrentCount() - restored.live;
      this.nextLabel = restored.nextLabel;
    } else {
      this.capacity = Math.max(16, params.initialCapacity ?? 64);
      this.index = new hnswlib.HierarchicalNSW('cosine', dimensions);
      this.index.initIndex({ maxElements: this.capacity, m: params.m, efConstruction: params.efConstruction, randomSeed: 100, allowReplaceDeleted: true });
    }
    this.index.setEf(params.ef);
  }

  get size(): number {
    return this.live;
  }
  /** Slots allocated (live + deleted + free). */
  get slots(): number {
    return this.capacity;
  }
  get deletedSlots(): number {
    return this.deleted;
  }
  get labelsIssued(): number {
    return this.nextLabel;
  }

  /** Adds a vector, reusing a deleted slot when there is one; returns its label. */
  add(vec: ArrayLike<number>): number {
    if (vec.length !== this.dimensions) throw new Error(`vector has ${vec.length} dimensions, index has ${this.dimensions}`);
    if (this.nextLabel >= MAX_LABEL) throw new Error('label space exhausted: rebuild the index');
    const label = this.nextLabel++;
    const point = Array.from(vec);
    if (this.deleted > 0) {
      this.index.addPoint(point, label, true);
      this.deleted--;
    } else {
      if (this.index.getCurrentCount() >= this.capacity) {
        this.capacity *= 2;
        this.index.resizeIndex(this.capacity);
      }
      this.index.addPoint(point, label, false);
    }
    this.live++;
    return label;
  }

  /** Marks a label deleted; its slot is reused by the next add. */
  remove(label: number): void {
    this.index.markDelete(label);
    this.live--;
    this.deleted++;
  }

  /** Up to k nearest live neighbours, most similar first. */
  search(vec: ArrayLike<number>, k: number): Neighbour[] {
    if (this.live === 0) return [];
    const kk = Math.min(k, this.live);
    if (this.params.ef < kk) this.index.setEf(kk);
    const r = this.index.searchKnn(Array.from(vec), kk);
    return r.neighbors.map((label, i) => ({ label, similarity: 1 - r.distances[i] }));
  }

  setEf(ef: number): void {
    this.params.ef = ef;
    this.index.setEf(ef);
  }

  /** The index's bytes (hnswlib's own format). Async write happens off-thread in hnswlib. */
  async serialise(): Promise<Buffer> {
    const tmp = join(tmpdir(), `cfw-hnsw-${process.pid}-${randomUUID()}.bin`);
    try {
      await this.index.writeIndex(tmp);
      return await readFile(tmp);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  static async deserialise(bytes: Uint8Array, dimensions: number, params: HnswParams, live: number, nextLabel: number): Promise<SlotIndex> {
    const tmp = join(tmpdir(), `cfw-hnsw-${process.pid}-${randomUUID()}.bin`);
    try {
      await writeFile(tmp, bytes);
      const index = new hnswlib.HierarchicalNSW('cosine', dimensions);
      // The snapshot's checksum was verified before we get here: hnswlib trusts the sizes in
      // the file, so unchecked garbage could make it allocate wildly.
      index.readIndexSync(tmp, true);
      if (index.getNumDimensions() !== dimensions) throw new Error(`index has ${index.getNumDimensions()} dimensions, expected ${dimensions}`);
      return new SlotIndex(dimensions, { ...params }, { index, live, nextLabel });
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
