// Azure Speech recognition: one continuous recognizer per call, fed from a PushAudioInputStream
// (8 kHz, 16-bit, mono PCM, exactly what the DSP hands us). Interim results (recognizing) go to
// onInterim; final phrases (recognized) collect until endTurn() takes them. Azure segments the
// audio itself; endTurn() waits for a phrase still being recognized before returning. With
// `languages`, Azure's continuous language identification reports the language of each phrase.
import * as sdk from 'microsoft-cognitiveservices-speech-sdk';
import { ProviderError, type CallContext, type SttProvider, type SttResult, type SttStream } from '../kit/types.ts';
import { mapCancellation, speechConfig, type AzureSpeechAuth } from './common.ts';

export interface AzureSttOptions extends AzureSpeechAuth {
  /** Candidate locales for automatic language identification (up to 10), e.g. ["en-US","es-ES"]. */
  languages?: string[];
  /** Silence after which Azure closes a phrase (ms, default 300). */
  segmentationSilenceMs?: number;
  /** Longest wait in endTurn() for Azure to finish a phrase (ms, default 2000). */
  finalWaitMs?: number;
  name?: string;
}

export class AzureStt implements SttProvider {
  readonly name: string;
  constructor(readonly opts: AzureSttOptions) {
    speechConfig(opts); // validates key/region/endpoint now, not mid-call
    if (opts.languages && (opts.languages.length < 1 || opts.languages.length > 10)) throw new Error('Azure Speech STT: languages must list 1 to 10 locales');
    this.name = opts.name ?? 'azure-speech-stt';
  }
  open(ctx: CallContext, signal: AbortSignal): SttStream {
    return new AzureSttStream(this, ctx, signal);
  }
}

class AzureSttStream implements SttStream {
  onInterim?: (text: string) => void;
  private readonly input: sdk.PushAudioInputStream;
  private readonly rec: sdk.SpeechRecognizer;
  private finals: SttResult[] = [];
  private pendingHypothesis = false;
  private heardFromService = false;
  private speechThisTurn = false;
  private error: ProviderError | undefined;
  private closed = false;
  private wake: Array<() => void> = [];

  constructor(
    private readonly p: AzureStt,
    ctx: CallContext,
    callSignal: AbortSignal,
  ) {
    const o = p.opts;
    const cfg = speechConfig(o);
    cfg.speechRecognitionLanguage = ctx.language || 'en-US';
    cfg.setProperty(sdk.PropertyId.Speech_SegmentationSilenceTimeoutMs, String(o.segmentationSilenceMs ?? 300));
    this.input = sdk.AudioInputStream.createPushStream(sdk.AudioStreamFormat.getWaveFormatPCM(8000, 16, 1));
    const audio = sdk.AudioConfig.fromStreamInput(this.input);
    if (o.languages?.length) {
      cfg.setProperty(sdk.PropertyId.SpeechServiceConnection_LanguageIdMode, 'Continuous');
      this.rec = sdk.SpeechRecognizer.FromConfig(cfg, sdk.AutoDetectSourceLanguageConfig.fromLanguages(o.languages), audio);
    } else {
      this.rec = new sdk.SpeechRecognizer(cfg, audio);
    }
    this.rec.recognizing = (_s, e) => {
      if (this.closed) return;
      this.heardFromService = true;
      this.pendingHypothesis = true;
      if (e.result.text) this.onInterim?.(e.result.text);
    };
    this.rec.recognized = (_s, e) => {
      if (this.closed) return;
      this.heardFromService = true;
      this.pendingHypothesis = false;
      if (e.result.reason === sdk.ResultReason.RecognizedSpeech && e.result.text) {
        // The SDK fills result.language from the phrase's PrimaryLanguage (language identification).
        const language = e.result.language || undefined;
        this.finals.push(language ? { text: e.result.text, language } : { text: e.result.text });
      }
      this.notify();
    };
    this.rec.speechStartDetected = () => {
      this.heardFromService = true;
    };
    this.rec.canceled = (_s, e) => {
      if (e.reason === sdk.CancellationReason.Error) this.error = mapCancellation(p.name, e.errorCode, e.errorDetails);
      this.notify();
    };
    this.rec.startContinuousRecognitionAsync(undefined, (err) => {
      this.error = new ProviderError(p.name, 'server', `cannot start recognition: ${err}`);
      this.notify();
    });
    callSignal.addEventListener('abort', () => this.close(), { once: true });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  push(pcm: Int16Array, speech: boolean): void {
    if (this.closed || !(pcm instanceof Int16Array)) return;
    if (speech) this.speechThisTurn = true;
    this.input.write(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength) as ArrayBuffer);
  }

  async endTurn(signal: AbortSignal): Promise<SttResult> {
    const name = this.p.name;
    if (this.closed) throw new ProviderError(name, 'bad_request', 'endTurn() after close()');
    if (signal.aborted) throw new ProviderError(name, 'aborted', 'aborted');
    const hadSpeech = this.speechThisTurn;
    this.speechThisTurn = false;
    const ready = () => this.error !== undefined || (!this.pendingHypothesis && (this.finals.length > 0 || !hadSpeech));
    if (!ready()) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, this.p.opts.finalWaitMs ?? 2000);
        signal.addEventListener('abort', done, { once: true });
        const check = () => (ready() ? done() : this.wake.push(check));
        this.wake.push(check);
      });
    }
    if (signal.aborted) throw new ProviderError(name, 'aborted', 'aborted');
    if (this.error) throw this.error;
    if (hadSpeech && !this.heardFromService && this.finals.length === 0) {
      throw new ProviderError(name, 'timeout', 'no response from the speech service for this turn');
    }
    const out = this.finals.splice(0);
    const text = out.map((r) => r.text).join(' ').trim();
    const language = out.length ? out[out.length - 1].language : undefined;
    return language ? { text, language } : { text };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.notify();
    try {
      this.input.close();
    } catch {
      /* already closed */
    }
    const dispose = () => {
      try {
        this.rec.close();
      } catch {
        /* already disposed */
      }
    };
    this.rec.stopContinuousRecognitionAsync(dispose, dispose);
  }
}
