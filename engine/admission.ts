// Admission of NEW calls under resource pressure. A process near its file-descriptor limit or its
// memory limit refuses new calls (busy at the webhook, 503 with a reason at the socket upgrade) so
// the calls it already has keep their sockets, provider connections and memory. Calls in progress
// are never touched here.
import { readdirSync, readFileSync } from 'node:fs';
import v8 from 'node:v8';
import type { Config } from './config.ts';

/** What the process uses now and may use at most; undefined where it cannot be read. */
export interface ResourceReadings {
  /** Open descriptors and RLIMIT_NOFILE's soft limit. */
  fds(): { open: number; limit: number } | undefined;
  rssBytes(): number;
  heap(): { used: number; limit: number };
  /** The container's memory limit (cgroup v2 memory.max or v1 memory.limit_in_bytes), bytes. */
  cgroupLimitBytes(): number | undefined;
}

export interface Refusal {
  /** Metric label. */
  reason: 'fd_limit' | 'memory_limit' | 'heap_limit';
  /** Said to the caller (HTTP body) and in the log. */
  text: string;
}

const MB = 1024 * 1024;

/** Linux /proc and cgroup readings of this process. */
export const procReadings: ResourceReadings = {
  fds() {
    try {
      const line = readFileSync('/proc/self/limits', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('Max open files'));
      const soft = Number(line?.split(/\s{2,}/)[1]);
      if (!Number.isFinite(soft)) return undefined; // "unlimited"
      return { open: readdirSync('/proc/self/fd').length, limit: soft };
    } catch {
      return undefined; // not Linux
    }
  },
  rssBytes: () => process.memoryUsage.rss(),
  heap() {
    const h = v8.getHeapStatistics();
    return { used: h.used_heap_size, limit: h.heap_size_limit };
  },
  cgroupLimitBytes() {
    for (const f of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
      try {
        const n = Number(readFileSync(f, 'utf8').trim()); // "max" → NaN
        // cgroup v1 reports "no limit" as a number near 2^63.
        if (Number.isFinite(n) && n > 0 && n < 2 ** 60) return n;
      } catch {
        // not there: try the other version
      }
    }
    return undefined;
  },
};

type AdmissionConfig = Pick<Config, 'ADMISSION_FD_RESERVE' | 'MEMORY_LIMIT_MB' | 'ADMISSION_MEMORY_RATIO'>;

export class Admission {
  /** Bytes of RSS past which new calls are refused (undefined: no memory limit known). */
  readonly rssCapBytes: number | undefined;
  private fdSample: { open: number; limit: number; at: number } | undefined;
  private admittedSinceSample = 0;
  private refusing: Refusal['reason'] | undefined;

  /** `onChange` hears when refusing starts, changes reason, and stops: one log line each, not one per caller. */
  constructor(
    private readonly cfg: AdmissionConfig,
    private readonly onChange: (refusal: Refusal | undefined) => void = () => {},
    private readonly read: ResourceReadings = procReadings,
    private readonly now: () => number = () => performance.now(),
  ) {
    const limit = cfg.MEMORY_LIMIT_MB > 0 ? cfg.MEMORY_LIMIT_MB * MB : read.cgroupLimitBytes();
    this.rssCapBytes = limit !== undefined ? limit * cfg.ADMISSION_MEMORY_RATIO : undefined;
  }

  /** Why a new call must be refused now, or undefined to admit it. */
  check(): Refusal | undefined {
    const r = this.pressure();
    if (r?.reason !== this.refusing) {
      this.refusing = r?.reason;
      this.onChange(r);
    }
    return r;
  }

  private pressure(): Refusal | undefined {
    const fds = this.fds();
    if (fds && this.cfg.ADMISSION_FD_RESERVE > 0 && fds.limit - fds.open <= this.cfg.ADMISSION_FD_RESERVE) {
      return { reason: 'fd_limit', text: `out of file descriptors (${fds.open} of ${fds.limit} open)` };
    }
    const rss = this.read.rssBytes();
    if (this.rssCapBytes !== undefined && rss > this.rssCapBytes) {
      return { reason: 'memory_limit', text: `near the memory limit (RSS ${Math.round(rss / MB)} MB, new calls refused above ${Math.round(this.rssCapBytes / MB)} MB)` };
    }
    const heap = this.read.heap();
    if (heap.used > heap.limit * this.cfg.ADMISSION_MEMORY_RATIO) {
      return { reason: 'heap_limit', text: `near the heap limit (${Math.round(heap.used / MB)} of ${Math.round(heap.limit / MB)} MB)` };
    }
    return undefined;
  }

  /** A call was let in: it holds a descriptor the last sample did not see. */
  admitted(): void {
    this.admittedSinceSample++;
  }

  /** Usage for /health. */
  status(): { fds?: { open: number; limit: number; reserve: number }; rssMb: number; rssCapMb?: number; heapUsedMb: number; heapLimitMb: number } {
    const fds = this.fds();
    const heap = this.read.heap();
    return {
      ...(fds ? { fds: { ...fds, reserve: this.cfg.ADMISSION_FD_RESERVE } } : {}),
      rssMb: Math.round(this.read.rssBytes() / MB),
      ...(this.rssCapBytes !== undefined ? { rssCapMb: Math.round(this.rssCapBytes / MB) } : {}),
      heapUsedMb: Math.round(heap.used / MB),
      heapLimitMb: Math.round(heap.limit / MB),
    };
  }

  // Listing /proc/self/fd costs ~50 µs at a few fds and grows with them: sampled at most every
  // 100 ms, with the calls admitted since added, so a burst of upgrades cannot slip past the limit.
  private fds(): { open: number; limit: number } | undefined {
    const t = this.now();
    if (!this.fdSample || t - this.fdSample.at >= 100) {
      const r = this.read.fds();
      this.fdSample = r ? { ...r, at: t } : undefined;
      this.admittedSinceSample = 0;
    }
    return this.fdSample ? { open: this.fdSample.open + this.admittedSinceSample, limit: this.fdSample.limit } : undefined;
  }
}
