// Azure Speech synthesis straight to the phone line's format (Raw8Khz8BitMonoMULaw, no
// conversion on our side), streamed: every `synthesizing` event's audio is yielded as it
// arrives, so playback starts long before synthesis completes.
// Warm connections: a synthesizer's WebSocket (TLS handshake and all) opens on its first use, so
// a new synthesizer per sentence put a handshake on every sentence's path. Synthesizers are kept
// instead: one that finished a sentence goes back to an idle list for the next, and a call start
// opens one in advance (the SDK's Connection.openConnection). One cut by an abort is closed.
import * as sdk from 'microsoft-cognitiveservices-speech-sdk';
import { ProviderError, type TtsProvider, type TtsRequest, type Ulaw } from '../kit/types.ts';
import { mapCancellation, speechConfig, xmlEscape, type AzureSpeechAuth } from './common.ts';
import { PushQueue } from './queue.ts';

export interface AzureTtsOptions extends AzureSpeechAuth {
  /** Used when the request names no voice. Default "en-US-JennyNeural". */
  voice?: string;
  /** SSML prosody rate, e.g. "+10%". */
  rate?: string;
  name?: string;
  /** Idle synthesizers kept connected (default 4) and for how long (ms, default 60 s). */
  maxIdle?: number;
  idleMs?: number;
}

interface Idle {
  synth: sdk.SpeechSynthesizer;
  since: number;
}

export class AzureTts implements TtsProvider {
  readonly name: string;
  private idle: Idle[] = [];
  private closed = false;
  constructor(readonly opts: AzureTtsOptions) {
    speechConfig(opts);
    this.name = opts.name ?? 'azure-speech-tts';
  }

  private newSynth(): sdk.SpeechSynthesizer {
    const cfg = speechConfig(this.opts);
    cfg.speechSynthesisOutputFormat = sdk.SpeechSynthesisOutputFormat.Raw8Khz8BitMonoMULaw;
    // null audio config: keep the audio in memory (no speaker output in Node).
    return new sdk.SpeechSynthesizer(cfg, null as unknown as sdk.AudioConfig);
  }

  /** An idle synthesizer still fresh enough, else a new one; stale ones are closed. */
  private take(): sdk.SpeechSynthesizer {
    const fresh = performance.now() - (this.opts.idleMs ?? 60_000);
    for (let e = this.idle.pop(); e; e = this.idle.pop()) {
      if (e.since >= fresh) return e.synth;
      e.synth.close();
    }
    return this.newSynth();
  }

  private giveBack(synth: sdk.SpeechSynthesizer): void {
    if (this.closed || this.idle.length >= (this.opts.maxIdle ?? 4)) return synth.close();
    synth.synthesizing = undefined as unknown as typeof synth.synthesizing;
    this.idle.push({ synth, since: performance.now() });
  }

  /** Opens a synthesizer's connection for the call's first sentence, unless one is idle already. */
  async onCallStart(): Promise<void> {
    if (this.closed || this.idle.length > 0) return;
    const synth = this.newSynth();
    await new Promise<void>((resolve) =>
      sdk.Connection.fromSynthesizer(synth).openConnection(
        () => {
          this.giveBack(synth);
          resolve();
        },
        () => {
          synth.close(); // the first sentence will connect itself
          resolve();
        },
      ),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.idle.splice(0)) e.synth.close();
  }

  ssml(text: string, voice: string, language: string): string {
    const body = this.opts.rate ? `<prosody rate='${xmlEscape(this.opts.rate)}'>${xmlEscape(text)}</prosody>` : xmlEscape(text);
    return `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='${xmlEscape(language)}'><voice name='${xmlEscape(voice)}'>${body}</voice></speak>`;
  }

  async *synthesize(req: TtsRequest): AsyncGenerator<Ulaw> {
    const { signal } = req;
    if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted before start');
    if (!req.text.trim()) return;
    const synth = this.take();
    const q = new PushQueue<Ulaw>();
    let completed = false;
    synth.synthesizing = (_s, e) => {
      if (e.result.audioData?.byteLength) q.push(new Uint8Array(e.result.audioData));
    };
    const onAbort = () => {
      q.fail(new ProviderError(this.name, 'aborted', 'aborted'));
      synth.close();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    synth.speakSsmlAsync(
      this.ssml(req.text, req.voice || this.opts.voice || 'en-US-JennyNeural', req.language || req.ctx.language || 'en-US'),
      (r) => {
        if (r.reason === sdk.ResultReason.SynthesizingAudioCompleted) {
          completed = true;
          q.end();
        } else {
          const d = sdk.CancellationDetails.fromResult(r);
          q.fail(mapCancellation(this.name, d.ErrorCode, d.errorDetails || r.errorDetails));
        }
      },
      (err) => q.fail(new ProviderError(this.name, 'server', String(err))),
    );
    try {
      for await (const chunk of q) yield chunk;
      if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted');
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Only a synthesizer that finished its sentence is reused; an aborted or failed one is closed.
      if (completed && !signal.aborted) this.giveBack(synth);
      else synth.close();
    }
  }
}
