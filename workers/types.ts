// The contract between a call session (main thread) and the DSP shards (Piscina workers).

export type DenoiseMode = 'off' | 'spectral' | 'rnnoise';

export interface DspOptions {
  denoise: DenoiseMode;
  /** WebRTC VAD aggressiveness 0..3. */
  vadMode: 0 | 1 | 2 | 3;
}

/** One processed 20 ms inbound frame. */
export interface DspFrame {
  /** Index of the frame within the call, from 0, in arrival order. */
  seq: number;
  /** Voice activity decision for this frame. */
  speech: boolean;
  /** Frame level in dBFS after noise suppression. */
  levelDb: number;
  /** 160 samples of 8 kHz PCM16 after noise suppression (what STT should hear). */
  pcm: Int16Array;
  /** performance.now() (main thread clock) when the frame was pushed, and when its result came back. */
  arrivedAt: number;
  doneAt: number;
}

/** A call's handle on its shard. Frames are processed in push order. */
export interface DspChannel {
  /** Push one inbound μ-law frame (normally 160 bytes; other sizes are split/padded to 160). */
  push(ulaw: Uint8Array): void;
  close(): void;
}

export interface DspShardStats {
  threads: number;
  calls: number;
  tasks: number;
  framesProcessed: number;
  workerRestarts: number;
  queueDepth: number;
}
