// Azure Speech synthesis straight to the phone line's format (Raw8Khz8BitMonoMULaw, no
// conversion on our side), streamed: every `synthesizing` event's audio is yielded as it
// arrives, so playback starts long before synthesis completes.
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
}

export class AzureTts implements TtsProvider {
  readonly name: string;
  constructor(readonly opts: AzureTtsOptions) {
    speechConfig(opts);
    this.name = opts.name ?? 'azure-speech-tts';
  }

  ssml(text: string, voice: string, language: string): string {
    const body = this.opts.rate ? `<prosody rate='${xmlEscape(this.opts.rate)}'>${xmlEscape(text)}</prosody>` : xmlEscape(text);
    return `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='${xmlEscape(language)}'><voice name='${xmlEscape(voice)}'>${body}</voice></speak>`;
  }

  async *synthesize(req: TtsRequest): AsyncGenerator<Ulaw> {
    const { signal } = req;
    if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted before start');
    if (!req.text.trim()) return;
    const cfg = speechConfig(this.opts);
    cfg.speechSynthesisOutputFormat = sdk.SpeechSynthesisOutputFormat.Raw8Khz8BitMonoMULaw;
    // null audio config: keep the audio in memory (no speaker output in Node).
    const synth = new sdk.SpeechSynthesizer(cfg, null as unknown as sdk.AudioConfig);
    const q = new PushQueue<Ulaw>();
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
        if (r.reason === sdk.ResultReason.SynthesizingAudioCompleted) q.end();
        else {
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
      synth.close();
    }
  }
}
