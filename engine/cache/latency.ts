// Lookup latency percentiles over a sliding window of recent samples (a ring buffer), so
// /health shows the current behaviour and memory stays fixed.
export class LatencyWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;

  constructor(size = 4096) {
    this.samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Nearest-rank percentiles (p in 0..100); 0 when there are no samples. */
  percentiles(ps: number[]): number[] {
    if (this.count === 0) return ps.map(() => 0);
    const sorted = Array.from(this.samples.subarray(0, this.count)).sort((a, b) => a - b);
    return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]);
  }
}
