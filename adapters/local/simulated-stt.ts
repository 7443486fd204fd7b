// SIMULATED speech-to-text, for the caller simulator and benchmarks only: it does not listen to
// the audio. The caller simulator passes the words it "speaks" as a custom stream parameter
// (`transcripts`, a JSON array of strings, optionally {text, language} objects) and each
// endTurn() returns the next one after a fixed "recognition" latency. It is named as a
// simulation in its provider name, its logs and its results so nobody mistakes it for ASR.
import type { CallContext, SttProvider, SttResult, SttStream } from '../kit/types.ts';
import { ProviderError } from '../kit/types.ts';
import { silentLogger, type Logger } from '../kit/log.ts';

export interface SimulatedSttOptions {
  /** How long each endTurn() "thinks" before resolving (abortable). */
  latencyMs: number;
  /** Where its lines go (default: nowhere). */
  log?: Logger;
}

type Scripted = { text: string; language?: string };

/** Parses ctx.parameters.transcripts; anything malformed yields [] and a warning, never a throw. */
export function parseTranscripts(raw: string | undefined, callId = '', logger: Logger = silentLogger): Scripted[] {
  if (raw === undefined || raw === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    logger.warn({ callId, error: (e as Error).message }, 'simulated STT: parameter "transcripts" is not valid JSON; treating it as empty');
    return [];
  }
  if (!Array.isArray(v)) {
    logger.warn({ callId }, 'simulated STT: parameter "transcripts" must be a JSON array; treating it as empty');
    return [];
  }
  const out: Scripted[] = [];
  for (const item of v) {
    if (typeof item === 'string') out.push({ text: item });
    else if (item && typeof item === 'object' && typeof (item as Scripted).text === 'string') {
      const { text, language } = item as Scripted;
      out.push(typeof language === 'string' && language ? { text, language } : { text });
    } else logger.warn({ callId, item }, 'simulated STT: skipping a transcript that is neither a string nor {text}');
  }
  return out;
}

class SimulatedSttStream implements SttStream {
  private next = 0;
  private closed = false;
  /** Frames the engine flagged as speech, in total and in the current turn (for diagnostics). */
  speechFrames = 0;
  turnSpeechFrames = 0;
  onInterim?: (text: string) => void;

  constructor(
    private readonly transcripts: Scripted[],
    private readonly latencyMs: number,
    private readonly ctx: CallContext,
    private readonly openSignal: AbortSignal,
    private readonly logger: Logger,
  ) {}

  push(_pcm: Int16Array, speech: boolean): void {
    if (speech && !this.closed) {
      this.speechFrames++;
      this.turnSpeechFrames++;
    }
  }

  async endTurn(signal: AbortSignal): Promise<SttResult> {
    if (this.closed || this.openSignal.aborted) throw new ProviderError('simulated', 'aborted', 'stream closed');
    await delay(this.latencyMs, signal, this.openSignal);
    if (this.closed) throw new ProviderError('simulated', 'aborted', 'stream closed');
    const frames = this.turnSpeechFrames;
    this.turnSpeechFrames = 0;
    const t = this.transcripts[this.next];
    if (!t) {
      this.logger.debug({ callId: this.ctx.callId, frames }, 'simulated STT: script exhausted, returning empty transcript');
      return { text: '' };
    }
    this.next++;
    this.logger.debug({ callId: this.ctx.callId, turn: this.next, frames, text: t.text }, 'simulated STT transcript');
    return t.language ? { text: t.text, language: t.language } : { text: t.text };
  }

  close(): void {
    this.closed = true;
  }
}

/** Waits `ms`, rejecting with ProviderError 'aborted' as soon as either signal fires. */
function delay(ms: number, ...signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signals.some((s) => s.aborted)) return reject(new ProviderError('simulated', 'aborted', 'aborted'));
    const cleanup = () => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      reject(new ProviderError('simulated', 'aborted', 'aborted'));
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve();
    }, ms);
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
  });
}

export class SimulatedStt implements SttProvider {
  readonly name = 'simulated';
  private readonly latencyMs: number;
  private readonly log: Logger;

  constructor(options: SimulatedSttOptions) {
    const ms = options?.latencyMs;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new RangeError(`SimulatedStt: latencyMs must be a number ≥ 0, got ${ms}`);
    this.latencyMs = ms;
    this.log = (options.log ?? silentLogger).child({ component: 'simulated-stt' });
  }

  open(ctx: CallContext, signal: AbortSignal): SttStream {
    const transcripts = parseTranscripts(ctx.parameters?.transcripts, ctx.callId, this.log);
    this.log.info({ callId: ctx.callId, turns: transcripts.length, latencyMs: this.latencyMs }, 'SIMULATED STT opened (scripted transcripts, audio is not recognised)');
    return new SimulatedSttStream(transcripts, this.latencyMs, ctx, signal, this.log);
  }
}
