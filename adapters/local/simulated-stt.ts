// SIMULATED speech-to-text, for the caller simulator and benchmarks only: it does not listen to
// the audio. The caller simulator passes the words it "speaks" as a custom stream parameter
// (`transcripts`, a JSON array of strings, optionally {text, language, speechMs} objects) and each
// endTurn() returns the next one after a fixed "recognition" latency. It is named as a
// simulation in its provider name, its logs and its results so nobody mistakes it for ASR.
//
// Interim results, simulated too: while the engine flags frames as speech, the next scripted
// transcript is revealed word by word in proportion to the speech time heard so far (from the
// turn's first speech frame to its latest) against the utterance's length: `speechMs` when the
// caller simulator knows it from the recording's labels, else `msPerWord` per word if set (else
// none: an unpaced script would reveal its words early and end the turn at the first pause). A word shows
// once about half of its share of the time has been heard, so the last one appears shortly
// before the utterance ends, as a streaming recogniser's would.
import type { CallContext, SttProvider, SttResult, SttStream } from '../kit/types.ts';
import { ProviderError } from '../kit/types.ts';
import { silentLogger, type Logger } from '../kit/log.ts';

export interface SimulatedSttOptions {
  /** How long each endTurn() "thinks" before resolving (abortable). */
  latencyMs: number;
  /** Emit simulated interim transcripts (default true). */
  interim?: boolean;
  /**
   * Speech time per revealed word when a transcript carries no speechMs. Unset (the default), such
   * a transcript gets no interim results: without the utterance's length the words cannot keep
   * pace with the audio, and words revealed early would end the turn at the first pause.
   */
  msPerWord?: number;
  /** Where its lines go (default: nowhere). */
  log?: Logger;
}

type Scripted = { text: string; language?: string; speechMs?: number };
const FRAME_MS = 20;
/** A candidate turn's clock restarts after this much non-speech while nothing was revealed yet. */
const RESTART_MS = 300;
/** Speech time counted ahead: a VAD flags an utterance's edges a little late and early. */
const LEAD_MS = 150;

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
      const { text, language, speechMs } = item as Scripted;
      const t: Scripted = typeof language === 'string' && language ? { text, language } : { text };
      if (typeof speechMs === 'number' && Number.isFinite(speechMs) && speechMs > 0) t.speechMs = speechMs;
      out.push(t);
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
  private readonly reveal: InterimReveal;

  constructor(
    private readonly transcripts: Scripted[],
    private readonly latencyMs: number,
    private readonly ctx: CallContext,
    private readonly openSignal: AbortSignal,
    private readonly logger: Logger,
    private readonly interim: { enabled: boolean; msPerWord?: number },
  ) {
    this.reveal = new InterimReveal(interim.msPerWord);
  }

  push(_pcm: Int16Array, speech: boolean): void {
    if (this.closed) return;
    if (speech) {
      this.speechFrames++;
      this.turnSpeechFrames++;
    }
    const words = this.reveal.push(speech, this.interim.enabled && this.onInterim ? this.transcripts[this.next] : undefined);
    if (words !== undefined) this.onInterim!(words);
  }

  async endTurn(signal: AbortSignal): Promise<SttResult> {
    if (this.closed || this.openSignal.aborted) throw new ProviderError('simulated', 'aborted', 'stream closed');
    await delay(this.latencyMs, signal, this.openSignal);
    if (this.closed) throw new ProviderError('simulated', 'aborted', 'stream closed');
    const frames = this.turnSpeechFrames;
    this.turnSpeechFrames = 0;
    this.reveal.endTurn();
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

/**
 * Simulated interim words for one stream: the scripted transcript revealed in proportion to the
 * speech time heard in the current turn (see the header). Shared with the load bench's simulated STT.
 */
export class InterimReveal {
  private frame = 0;
  /** The current turn's first and latest speech frame (-1: none yet), and the words shown. */
  private first = -1;
  private last = -1;
  private shown = 0;
  /** The last script's text split into words: split once, not on every speech frame (load benches run thousands a second). */
  private splitText?: string;
  private splitWords: string[] = [];

  /** `msPerWord` paces scripts that carry no speechMs; without it they get no interim words. */
  constructor(private readonly msPerWord?: number) {}

  /** One 20 ms frame; returns the words to show now when there are more than before. */
  push(speech: boolean, script: { text: string; speechMs?: number } | undefined): string | undefined {
    const f = this.frame++;
    if (!speech) {
      if (this.shown === 0 && this.last >= 0 && (f - this.last) * FRAME_MS >= RESTART_MS) this.first = this.last = -1;
      return undefined;
    }
    if (this.first < 0) this.first = f;
    this.last = f;
    if (!script) return undefined;
    if (this.splitText !== script.text) {
      this.splitText = script.text;
      this.splitWords = splitWords(script.text);
    }
    const words = this.splitWords;
    const heardMs = (this.last - this.first + 1) * FRAME_MS + LEAD_MS;
    const totalMs = script.speechMs ?? (this.msPerWord === undefined ? undefined : words.length * this.msPerWord);
    if (totalMs === undefined) return undefined;
    // A word shows once about half of it has been heard (a streaming recogniser's interim lags a little).
    const k = Math.min(words.length, Math.round((words.length * heardMs) / totalMs));
    if (k <= this.shown) return undefined;
    this.shown = k;
    return words.slice(0, k).join('');
  }

  /** The turn was transcribed: the next one starts from nothing. */
  endTurn(): void {
    this.first = this.last = -1;
    this.shown = 0;
  }
}

const SEGMENTER = new Intl.Segmenter(undefined, { granularity: 'word' });

/** Words with the text that follows each (spaces, punctuation), so joining a prefix gives the text so far. */
function splitWords(text: string): string[] {
  const out: string[] = [];
  for (const s of SEGMENTER.segment(text)) {
    if (s.isWordLike || out.length === 0) out.push(s.segment);
    else out[out.length - 1] += s.segment;
  }
  return out;
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
  private readonly interim: { enabled: boolean; msPerWord?: number };

  constructor(options: SimulatedSttOptions) {
    const ms = options?.latencyMs;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new RangeError(`SimulatedStt: latencyMs must be a number ≥ 0, got ${ms}`);
    const perWord = options.msPerWord;
    if (perWord !== undefined && !(Number.isFinite(perWord) && perWord > 0)) throw new RangeError(`SimulatedStt: msPerWord must be a number > 0, got ${perWord}`);
    this.latencyMs = ms;
    this.interim = { enabled: options.interim ?? true, msPerWord: perWord };
    this.log = (options.log ?? silentLogger).child({ component: 'simulated-stt' });
  }

  open(ctx: CallContext, signal: AbortSignal): SttStream {
    const transcripts = parseTranscripts(ctx.parameters?.transcripts, ctx.callId, this.log);
    this.log.info({ callId: ctx.callId, turns: transcripts.length, latencyMs: this.latencyMs, interim: this.interim.enabled }, 'SIMULATED STT opened (scripted transcripts and simulated interim results, audio is not recognised)');
    return new SimulatedSttStream(transcripts, this.latencyMs, ctx, signal, this.log, this.interim);
  }
}
