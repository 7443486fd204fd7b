// ElevenLabs streaming speech through its official client (@elevenlabs/elevenlabs-js):
// POST /v1/text-to-speech/{voice_id}/stream?output_format=ulaw_8000, so the service sends 8 kHz
// μ-law, Twilio's own format, and the bytes go out as they arrive with no conversion. Retries
// are off (failover is the chain's job); the request's AbortSignal aborts the HTTP request.
import { ElevenLabsClient, ElevenLabsError, ElevenLabsTimeoutError } from '@elevenlabs/elevenlabs-js';
import { ProviderError, type TtsProvider, type TtsRequest, type Ulaw } from '../kit/types.ts';
import { kindForStatus, retryAfterMs } from '../kit/http-status.ts';
import { sharedHttpPool, type HttpPool } from '../kit/http-pool.ts';

export interface ElevenLabsTtsOptions {
  apiKey: string;
  /** Voice ID used when the request names none (ElevenLabs voice IDs, e.g. "JBFqnCBsd6RMkjVDRZzb"). */
  voice?: string;
  /** Default "eleven_flash_v2_5", ElevenLabs' low-latency model. */
  modelId?: string;
  /** e.g. "http://127.0.0.1:8000"; default https://api.elevenlabs.io. */
  baseURL?: string;
  /** Voice settings for every request (ElevenLabs ranges: stability and similarityBoost 0..1, speed 0.7..1.2). */
  stability?: number;
  similarityBoost?: number;
  speed?: number;
  /** HTTP timeout until the response starts, ms (default 30 s). */
  timeoutMs?: number;
  name?: string;
  /** Connection pool (keep-alive, HTTP/2 where offered); default the process's shared one. */
  http?: HttpPool;
}

const inRange = (v: number | undefined, min: number, max: number) => v === undefined || (Number.isFinite(v) && v >= min && v <= max);

export class ElevenLabsTts implements TtsProvider {
  readonly name: string;
  private readonly client: ElevenLabsClient;
  private readonly modelId: string;
  private readonly http: HttpPool;

  constructor(private readonly opts: ElevenLabsTtsOptions) {
    if (!opts.apiKey) throw new Error('ElevenLabsTts: apiKey is required');
    if (opts.baseURL !== undefined && !/^https?:\/\//.test(opts.baseURL)) throw new Error(`ElevenLabsTts: baseURL must be an http(s) URL, got "${opts.baseURL}"`);
    if (!inRange(opts.stability, 0, 1)) throw new Error(`ElevenLabsTts: stability must be between 0 and 1, got ${opts.stability}`);
    if (!inRange(opts.similarityBoost, 0, 1)) throw new Error(`ElevenLabsTts: similarityBoost must be between 0 and 1, got ${opts.similarityBoost}`);
    if (!inRange(opts.speed, 0.7, 1.2)) throw new Error(`ElevenLabsTts: speed must be between 0.7 and 1.2, got ${opts.speed}`);
    this.modelId = opts.modelId || 'eleven_flash_v2_5';
    this.name = opts.name ?? `elevenlabs/${this.modelId}`;
    // The client's own timeout surfaces as an unclassified error, so ours (below) runs first.
    this.http = opts.http ?? sharedHttpPool();
    this.client = new ElevenLabsClient({ apiKey: opts.apiKey, ...(opts.baseURL ? { baseUrl: opts.baseURL } : {}), maxRetries: 0, timeoutInSeconds: (opts.timeoutMs ?? 30_000) / 1000 + 5, fetch: this.http.fetch });
  }

  /** Opens the connection the call's first sentence will use (no request is sent). */
  onCallStart(): Promise<void> {
    return this.http.preconnect(this.opts.baseURL ?? 'https://api.elevenlabs.io');
  }

  async *synthesize(req: TtsRequest): AsyncGenerator<Ulaw> {
    const { signal } = req;
    const name = this.name;
    if (signal.aborted) throw new ProviderError(name, 'aborted', 'aborted before start');
    if (!req.text.trim()) return;
    const voice = req.voice || this.opts.voice;
    if (!voice) throw new ProviderError(name, 'bad_request', 'no voice: set the spec\'s voice (an ElevenLabs voice ID)');
    const o = this.opts;
    const settings = { ...(o.stability !== undefined ? { stability: o.stability } : {}), ...(o.similarityBoost !== undefined ? { similarityBoost: o.similarityBoost } : {}), ...(o.speed !== undefined ? { speed: o.speed } : {}) };
    let body: ReadableStream<Uint8Array>;
    // timeoutMs bounds the wait for the response to start; the stream after it is the chain's to watch.
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(), o.timeoutMs ?? 30_000);
    try {
      body = await this.client.textToSpeech.stream(
        voice,
        {
          text: req.text,
          modelId: this.modelId,
          outputFormat: 'ulaw_8000',
          // ISO 639-1; multilingual_v2 models refuse it.
          ...(req.language && !/multilingual_v2/.test(this.modelId) ? { languageCode: req.language.split('-')[0].toLowerCase() } : {}),
          ...(Object.keys(settings).length ? { voiceSettings: settings } : {}),
        },
        { abortSignal: AbortSignal.any([signal, timer.signal]), maxRetries: 0 },
      );
    } catch (e) {
      if (!signal.aborted && timer.signal.aborted) throw new ProviderError(name, 'timeout', `no response in ${o.timeoutMs ?? 30_000} ms`, undefined, { cause: e });
      throw mapElevenLabsError(name, e, signal);
    } finally {
      clearTimeout(t);
    }
    let bytes = 0;
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        if (signal.aborted) break;
        if (chunk.length === 0) continue;
        bytes += chunk.length;
        yield chunk;
      }
    } catch (e) {
      throw mapElevenLabsError(name, e, signal);
    } finally {
      if (signal.aborted) body.cancel().catch(() => {});
    }
    if (signal.aborted) throw new ProviderError(name, 'aborted', 'aborted');
    if (bytes === 0) throw new ProviderError(name, 'server', 'the response carried no audio');
  }
}

/** Maps what the client throws: an HTTP status (with retry-after), its timeout, an abort, or a broken connection. */
export function mapElevenLabsError(provider: string, e: unknown, signal?: AbortSignal): ProviderError {
  if (e instanceof ProviderError) return e;
  if (signal?.aborted || (e as Error)?.name === 'AbortError') return new ProviderError(provider, 'aborted', 'aborted', undefined, { cause: e });
  if (e instanceof ElevenLabsTimeoutError) return new ProviderError(provider, 'timeout', 'request timed out', undefined, { cause: e });
  if (e instanceof ElevenLabsError && typeof e.statusCode === 'number') {
    const kind = kindForStatus(e.statusCode);
    // Error bodies are {"detail": {"status": "...", "message": "..."}} (or a validation list for 422).
    const detail = (e.body as { detail?: { status?: string; message?: string } } | undefined)?.detail;
    const why = detail && typeof detail === 'object' && !Array.isArray(detail) ? [detail.status, detail.message].filter(Boolean).join(': ') : JSON.stringify(e.body ?? '').slice(0, 200);
    return new ProviderError(provider, kind, `HTTP ${e.statusCode}: ${why}`, kind === 'rate_limited' || kind === 'server' ? retryAfterMs(e.rawResponse?.headers) : undefined, { cause: e });
  }
  const msg = (e as Error)?.message ?? String(e);
  return new ProviderError(provider, 'server', msg.slice(0, 300), undefined, { cause: e });
}
