// Text-to-speech through OpenAI's speech endpoint (or a compatible server). Asks for raw PCM
// (24 kHz s16le) or WAV and converts it to 8 kHz μ-law as it streams in, so the first audio
// reaches the caller before the whole sentence is synthesized.
import type OpenAI from 'openai';
import { StreamingResampler } from '../audio.ts';
import { encodeUlaw } from '../kit/ulaw.ts';
import { ProviderError, type TtsProvider, type TtsRequest, type Ulaw } from '../kit/types.ts';
import { mapOpenAiError } from './errors.ts';
import { openAiClient } from './client.ts';
import { sharedHttpPool, type HttpPool } from '../kit/http-pool.ts';

export interface OpenAiTtsOptions {
  apiKey: string;
  /** Default "gpt-4o-mini-tts". */
  model?: string;
  /** Used when the request names no voice. Default "alloy". */
  voice?: string;
  /** 'pcm' (24 kHz s16le, default) or 'wav' (rate read from the header). */
  format?: 'pcm' | 'wav';
  speed?: number;
  /** Style instructions (gpt-4o-mini-tts). */
  instructions?: string;
  baseURL?: string;
  timeoutMs?: number;
  name?: string;
  client?: OpenAI;
  /** Connection pool; default the process's shared one. */
  http?: HttpPool;
}

/** OpenAI's `pcm` format: 24 kHz, 16-bit little-endian, mono. */
const PCM_RATE = 24_000;

/** Finds the sample format and data start of a (possibly still incomplete) WAV header. */
function wavHeader(b: Uint8Array): { rate: number; bits: number; channels: number; dataAt: number } | null | 'bad' {
  if (b.length < 12) return null;
  const tag = (at: number) => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return 'bad';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let fmt: { rate: number; bits: number; channels: number } | undefined;
  for (let p = 12; p + 8 <= b.length; ) {
    const id = tag(p);
    const size = dv.getUint32(p + 4, true);
    if (id === 'fmt ') {
      if (p + 24 > b.length) return null;
      fmt = { channels: dv.getUint16(p + 10, true), rate: dv.getUint32(p + 12, true), bits: dv.getUint16(p + 22, true) };
    } else if (id === 'data') {
      return fmt ? { ...fmt, dataAt: p + 8 } : 'bad';
    }
    p += 8 + size + (size & 1);
  }
  return null;
}

export class OpenAiTts implements TtsProvider {
  readonly name: string;
  private readonly client: OpenAI;
  private readonly model: string;
  private readonly http: HttpPool;

  constructor(private readonly opts: OpenAiTtsOptions) {
    this.model = opts.model ?? 'gpt-4o-mini-tts';
    this.name = opts.name ?? `openai-tts/${this.model}`;
    this.http = opts.http ?? sharedHttpPool();
    this.client = opts.client ?? openAiClient(opts, this.http);
  }

  /** Opens the connection the call's first sentence will use (no request is sent). */
  onCallStart(): Promise<void> {
    return this.http.preconnect(this.client.baseURL);
  }

  async *synthesize(req: TtsRequest): AsyncGenerator<Ulaw> {
    const { signal } = req;
    const name = this.name;
    if (signal.aborted) throw new ProviderError(name, 'aborted', 'aborted before start');
    if (!req.text.trim()) return;
    const format = this.opts.format ?? 'pcm';
    let body: ReadableStream<Uint8Array> | null;
    try {
      const res = await this.client.audio.speech.create(
        {
          model: this.model,
          voice: req.voice || this.opts.voice || 'alloy',
          input: req.text,
          response_format: format,
          ...(this.opts.speed !== undefined ? { speed: this.opts.speed } : {}),
          ...(this.opts.instructions ? { instructions: this.opts.instructions } : {}),
        },
        { signal },
      );
      body = res.body;
    } catch (e) {
      throw mapOpenAiError(name, e, signal);
    }
    if (!body) throw new ProviderError(name, 'server', 'speech response has no body');

    let resampler: StreamingResampler | undefined;
    let pending = new Uint8Array(0); // bytes not yet converted (header, odd byte)
    let headerDone = format === 'pcm';
    try {
      if (headerDone) resampler = await StreamingResampler.create(PCM_RATE, 8000);
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        if (signal.aborted) break;
        const joined = new Uint8Array(pending.length + chunk.length);
        joined.set(pending);
        joined.set(chunk, pending.length);
        let bytes = joined;
        if (!headerDone) {
          const h = wavHeader(bytes);
          if (h === 'bad') throw new ProviderError(name, 'server', 'speech response is not a WAV file');
          if (h === null) {
            pending = bytes;
            continue;
          }
          if (h.bits !== 16 || h.channels !== 1) throw new ProviderError(name, 'server', `unsupported WAV: ${h.bits}-bit, ${h.channels} channels`);
          resampler = await StreamingResampler.create(h.rate, 8000);
          headerDone = true;
          bytes = bytes.subarray(h.dataAt);
        }
        const even = bytes.length & ~1;
        pending = bytes.slice(even);
        if (even === 0) continue;
        const pcm = new Int16Array(even / 2);
        const dv = new DataView(bytes.buffer, bytes.byteOffset, even);
        for (let i = 0; i < pcm.length; i++) pcm[i] = dv.getInt16(i * 2, true);
        const out = resampler!.push(pcm);
        if (signal.aborted) break;
        if (out.length) yield encodeUlaw(out);
      }
      if (signal.aborted) throw new ProviderError(name, 'aborted', 'aborted');
      if (!resampler) throw new ProviderError(name, 'server', 'speech response ended before any audio');
      const tail = resampler.flush();
      if (tail.length) yield encodeUlaw(tail);
    } catch (e) {
      throw mapOpenAiError(name, e, signal);
    } finally {
      resampler?.destroy();
      if (signal.aborted) body.cancel().catch(() => {});
    }
  }
}
