// Speech-to-text through OpenAI's transcription endpoint (Whisper / gpt-4o-*-transcribe, or any
// compatible server). The endpoint is not streaming, so the stream buffers one VAD turn: from
// shortly before the first speech frame (pre-roll, so the first syllable is not clipped) until
// endTurn(), then uploads it as a 16-bit 8 kHz WAV file. A turn with no speech makes no request.
import { toFile, type OpenAI } from 'openai';
import { wavFromPcm16 } from '../audio.ts';
import { ProviderError, type CallContext, type SttProvider, type SttResult, type SttStream } from '../kit/types.ts';
import { mapOpenAiError } from './errors.ts';
import { openAiClient } from './client.ts';
import { sharedHttpPool, type HttpPool } from '../kit/http-pool.ts';

export interface OpenAiSttOptions {
  apiKey: string;
  /** Default "gpt-4o-mini-transcribe". */
  model?: string;
  baseURL?: string;
  /** Send the call's language as a hint (ISO 639-1). Off by default: callers switch languages. */
  languageHint?: boolean;
  /** Vocabulary/context hint passed as `prompt`. */
  prompt?: string;
  /** Audio kept from before the first speech frame, ms (default 200). */
  preRollMs?: number;
  /** Longest turn kept, seconds (default 60); older audio is dropped. */
  maxTurnSeconds?: number;
  timeoutMs?: number;
  name?: string;
  client?: OpenAI;
  /** Connection pool; default the process's shared one. */
  http?: HttpPool;
}

const RATE = 8000;

export class OpenAiStt implements SttProvider {
  readonly name: string;
  readonly model: string;
  readonly client: OpenAI;
  private readonly http: HttpPool;

  constructor(readonly opts: OpenAiSttOptions) {
    this.model = opts.model ?? 'gpt-4o-mini-transcribe';
    this.name = opts.name ?? `openai-stt/${this.model}`;
    this.http = opts.http ?? sharedHttpPool();
    this.client = opts.client ?? openAiClient(opts, this.http);
  }

  /** Opens the connection the call's first upload will use (no request is sent). */
  onCallStart(): Promise<void> {
    return this.http.preconnect(this.client.baseURL);
  }

  open(ctx: CallContext, signal: AbortSignal): SttStream {
    return new OpenAiSttStream(this, ctx, signal);
  }
}

class OpenAiSttStream implements SttStream {
  onInterim?: (text: string) => void;
  private frames: Int16Array[] = [];
  private samples = 0;
  private speaking = false;
  private closed = false;
  private readonly preRoll: number;
  private readonly maxSamples: number;

  constructor(
    private readonly p: OpenAiStt,
    private readonly ctx: CallContext,
    private readonly callSignal: AbortSignal,
  ) {
    this.preRoll = Math.round(((p.opts.preRollMs ?? 200) / 1000) * RATE);
    this.maxSamples = (p.opts.maxTurnSeconds ?? 60) * RATE;
  }

  push(pcm: Int16Array, speech: boolean): void {
    if (this.closed || !(pcm instanceof Int16Array)) return;
    this.frames.push(pcm);
    this.samples += pcm.length;
    if (speech) this.speaking = true;
    // Before speech only the pre-roll is kept; during a turn, at most maxTurnSeconds.
    const cap = this.speaking ? this.maxSamples : this.preRoll;
    while (this.samples - this.frames[0].length >= cap && this.frames.length > 1) this.samples -= this.frames.shift()!.length;
  }

  async endTurn(signal: AbortSignal): Promise<SttResult> {
    const name = this.p.name;
    if (this.closed) throw new ProviderError(name, 'bad_request', 'endTurn() after close()');
    const frames = this.frames;
    const hadSpeech = this.speaking;
    this.frames = [];
    this.samples = 0;
    this.speaking = false;
    const sig = AbortSignal.any([signal, this.callSignal]);
    if (sig.aborted) throw new ProviderError(name, 'aborted', 'aborted before transcription');
    if (!hadSpeech) return { text: '' };
    const pcm = new Int16Array(frames.reduce((a, f) => a + f.length, 0));
    let at = 0;
    for (const f of frames) {
      pcm.set(f, at);
      at += f.length;
    }
    try {
      const file = await toFile(wavFromPcm16(pcm, RATE), 'turn.wav', { type: 'audio/wav' });
      const lang = this.ctx.language?.split('-')[0]?.toLowerCase();
      const r = await this.p.client.audio.transcriptions.create(
        {
          file,
          model: this.p.model,
          response_format: 'json',
          ...(this.p.opts.languageHint && lang ? { language: lang } : {}),
          ...(this.p.opts.prompt ? { prompt: this.p.opts.prompt } : {}),
        },
        { signal: sig },
      );
      if (sig.aborted) throw new ProviderError(name, 'aborted', 'aborted');
      const text = typeof r === 'string' ? r : (r as { text?: string }).text;
      if (typeof text !== 'string') throw new ProviderError(name, 'server', 'transcription response has no text');
      return { text: text.trim() };
    } catch (e) {
      throw mapOpenAiError(name, e, sig);
    }
  }

  close(): void {
    this.closed = true;
    this.frames = [];
  }
}
