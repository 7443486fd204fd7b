// DSP on the main thread: the DspShards contract (open/stats/close, DspChannel from
// workers/types.ts) implemented in-process with the same per-call processing the workers run
// (workers/dsp-core.ts). For the "worker pool vs main thread" comparison only: frames are
// processed synchronously inside push(), so their cost lands on the event loop that also
// serves every socket.
import { CallDsp, encodeOptions, decodeOptions, FRAME_BYTES, loadDsp } from '../../workers/dsp-core.ts';
import type { DspChannel, DspFrame, DspOptions } from '../../workers/types.ts';
import type { DspShards, DspShardsStats } from '../../workers/shards.ts';

class InlineChannel implements DspChannel {
  closed = false;
  private readonly dsp: CallDsp;
  private partial = new Uint8Array(FRAME_BYTES);
  private partialLen = 0;
  private seq = 0;

  constructor(
    readonly callId: string,
    options: DspOptions,
    private readonly onFrames: (frames: DspFrame[]) => void,
    private readonly owner: InlineDsp,
  ) {
    this.dsp = new CallDsp(options);
  }

  push(ulaw: Uint8Array): void {
    if (!(ulaw instanceof Uint8Array)) throw new TypeError('DspChannel.push expects a Uint8Array of μ-law bytes');
    if (this.closed || ulaw.length === 0) return;
    const arrivedAt = performance.now();
    const frames: DspFrame[] = [];
    let off = 0;
    // Complete a partial frame first, then whole frames straight from the input.
    if (this.partialLen > 0) {
      const n = Math.min(FRAME_BYTES - this.partialLen, ulaw.length);
      this.partial.set(ulaw.subarray(0, n), this.partialLen);
      this.partialLen += n;
      off = n;
      if (this.partialLen === FRAME_BYTES) {
        frames.push(this.process(this.partial, 0, arrivedAt));
        this.partialLen = 0;
      }
    }
    for (; off + FRAME_BYTES <= ulaw.length; off += FRAME_BYTES) frames.push(this.process(ulaw, off, arrivedAt));
    if (off < ulaw.length) {
      this.partial.set(ulaw.subarray(off), 0);
      this.partialLen = ulaw.length - off;
    }
    if (frames.length === 0) return;
    const doneAt = performance.now();
    for (const f of frames) f.doneAt = doneAt;
    this.owner.framesProcessed += frames.length;
    this.owner.tasks++;
    try {
      this.onFrames(frames);
    } catch (err) {
      this.owner.onError(this.callId, err);
    }
  }

  private process(src: Uint8Array, off: number, arrivedAt: number): DspFrame {
    const pcm = new Int16Array(FRAME_BYTES);
    const levelDb = this.dsp.process(src, off, pcm, 0);
    return { seq: this.seq++, speech: this.dsp.lastSpeech, prob: this.dsp.lastProb, echoDb: this.dsp.lastEchoDb, echoShare: this.dsp.lastEchoShare, levelDb, pcm, arrivedAt, doneAt: arrivedAt };
  }

  playout(ulaw: Uint8Array): void {
    if (!this.closed) this.dsp.queuePlayout(ulaw);
  }

  clearPlayout(): void {
    if (!this.closed) this.dsp.clearPlayout();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dsp.free();
    this.owner.release(this.callId);
  }
}

export class InlineDsp {
  readonly channels = new Map<string, InlineChannel>();
  tasks = 0;
  framesProcessed = 0;
  private closed = false;
  private readonly defaults: DspOptions;

  constructor(defaults: DspOptions, private readonly log?: { error(o: object, msg: string): void }) {
    encodeOptions(defaults); // validates
    this.defaults = { ...defaults };
  }

  open(callId: string, onFrames: (frames: DspFrame[]) => void, opts?: Partial<DspOptions>): DspChannel {
    if (this.closed) throw new Error('InlineDsp is closed');
    if (typeof callId !== 'string' || callId === '') throw new TypeError('callId must be a non-empty string');
    if (typeof onFrames !== 'function') throw new TypeError('onFrames must be a function');
    if (this.channels.has(callId)) throw new Error(`call ${callId} already has an open DSP channel`);
    const options = decodeOptions(encodeOptions({ ...this.defaults, ...opts }));
    const ch = new InlineChannel(callId, options, onFrames, this);
    this.channels.set(callId, ch);
    return ch;
  }

  release(callId: string): void {
    this.channels.delete(callId);
  }

  onError(callId: string, err: unknown): void {
    this.log?.error({ callId, err }, 'onFrames callback threw');
  }

  shardOf(callId: string): number {
    return this.channels.has(callId) ? 0 : -1;
  }

  injectWorkerFault(): void {
    throw new Error('InlineDsp runs on the main thread: there is no worker to fault');
  }

  stats(): DspShardsStats {
    const calls = this.channels.size;
    return {
      threads: 0,
      calls,
      tasks: this.tasks,
      framesProcessed: this.framesProcessed,
      workerRestarts: 0,
      framesLost: 0,
      queueDepth: 0,
      shards: [{ calls, workerCalls: calls, tasks: this.tasks, framesProcessed: this.framesProcessed, workerRestarts: 0, framesLost: 0, queueDepth: 0 }],
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const ch of [...this.channels.values()]) ch.close();
  }
}

/**
 * An in-process DSP to pass as createEngine(config, { dsp }). DspShards is a class with private
 * fields, so the structural twin is cast; every member the engine uses is implemented.
 */
export async function createInlineDsp(defaults: DspOptions, log?: { error(o: object, msg: string): void }): Promise<DspShards> {
  await loadDsp();
  return new InlineDsp(defaults, log) as unknown as DspShards;
}
