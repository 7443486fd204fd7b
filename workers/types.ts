// The contract between a call session (main thread) and the DSP shards (Piscina workers).

export type DenoiseMode = 'off' | 'spectral' | 'rnnoise';
/** webrtc: WebRTC VAD (a decision per frame); silero: Silero VAD v5 (a speech probability). */
export type VadKind = 'webrtc' | 'silero';

export interface DspOptions {
  denoise: DenoiseMode;
  /** WebRTC VAD aggressiveness 0..3 (used when `vad` is webrtc). */
  vadMode: 0 | 1 | 2 | 3;
  /** Which VAD decides (default webrtc). */
  vad?: VadKind;
}

/** One processed 20 ms inbound frame. */
export interface DspFrame {
  /** Index of the frame within the call, from 0, in arrival order. */
  seq: number;
  /** Voice activity decision for this frame (Silero: prob ≥ 0.5). */
  speech: boolean;
  /** Speech probability 0..1 (WebRTC VAD: 0 or 1); the turn detector thresholds it. */
  prob: number;
  /**
   * Level of the agent's own echo still in `pcm`, dBFS, estimated by the echo canceller from the
   * audio the engine sent (-100 when none of it can be in this frame).
   */
  echoDb: number;
  /** Share of the frame's energy in bands standing out of the echo left and the noise (0: none, or unknown). */
  echoShare: number;
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
  /** Agent audio just sent to the caller (μ-law): the echo canceller's reference. */
  playout?(ulaw: Uint8Array): void;
  /** The agent's playback was cleared: queued reference audio will not play. */
  clearPlayout?(): void;
  close(): void;
}

export interface DspShardStats {
  threads: number;
  calls: number;
  tasks: number;
  framesProcessed: number;
  workerRestarts: number;
  /** Frames dropped with a batch whose worker died (never reprocessed). */
  framesLost: number;
  queueDepth: number;
}
