// A loopback fake of ElevenLabs' streaming speech endpoint, for the real @elevenlabs/elevenlabs-js
// client: POST /v1/text-to-speech/{voice_id}/stream?output_format=… with the key in `xi-api-key`
// and a JSON body (text, model_id, language_code, voice_settings). It streams 8 kHz μ-law
// (ulaw_8000) of a speech-like tone sized to the text, in chunks, as a chunked HTTP response.
// Errors use ElevenLabs' shape, {"detail": {"status": …, "message": …}}, or 422 with a
// validation list. Faults per request: an HTTP status (with retry-after), a hang before the
// headers, a slow first chunk, a connection dropped or stalled after some chunks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeUlaw } from '../../adapters/kit/ulaw.ts';
import { FaultQueue, Probe, readBody, startLoopback, watchAbort } from './loopback-http.ts';

export type ElevenLabsFault =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'hang' }
  | { kind: 'slow-first'; ms: number }
  | { kind: 'disconnect'; afterChunks: number }
  | { kind: 'stall'; afterChunks: number };

export interface ElevenLabsRequestLog {
  voiceId: string;
  query: Record<string, string>;
  body: any;
  headers: IncomingMessage['headers'];
  fault: ElevenLabsFault;
  aborted: boolean;
  chunks: number;
}

export interface FakeElevenLabsOptions {
  /** Accepted key; others get 401 invalid_api_key. */
  apiKey?: string;
  /** Known voice IDs; others get 404 voice_not_found (default: any). */
  voices?: string[];
  /** Audio per character of text (ms, default 60). */
  msPerChar?: number;
  chunkDelayMs?: number;
  faults?: ElevenLabsFault[];
  defaultFault?: ElevenLabsFault;
}

export interface FakeElevenLabs {
  baseURL: string;
  requests: ElevenLabsRequestLog[];
  probe: Probe;
  /** TCP connections accepted so far. */
  readonly connections: number;
  setFaults(f: ElevenLabsFault[], defaultFault?: ElevenLabsFault): void;
  close(): Promise<void>;
}

const FORMATS = new Set(['ulaw_8000', 'pcm_16000', 'pcm_22050', 'pcm_24000', 'mp3_44100_128']);

function detail(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ detail: { status: code, message } }));
}

/** A syllable-modulated tone as 8 kHz μ-law. */
function speech(ms: number): Uint8Array {
  const pcm = new Int16Array(Math.round(ms * 8));
  for (let i = 0; i < pcm.length; i++) {
    const t = i / 8000;
    pcm[i] = Math.round(7000 * (0.55 + 0.45 * Math.sin(2 * Math.PI * 3.5 * t)) * Math.sin(2 * Math.PI * 190 * t));
  }
  return encodeUlaw(pcm);
}

export async function startFakeElevenLabs(opts: FakeElevenLabsOptions = {}): Promise<FakeElevenLabs> {
  const requests: ElevenLabsRequestLog[] = [];
  const faults = new FaultQueue<ElevenLabsFault>(opts.faults, opts.defaultFault ?? { kind: 'ok' });
  const probe = new Probe();

  const loop = await startLoopback(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/v1\/text-to-speech\/([^/]+)\/stream$/.exec(url.pathname);
    const raw = await readBody(req);
    const fault = faults.next();
    const log: ElevenLabsRequestLog = { voiceId: m ? decodeURIComponent(m[1]) : '', query: Object.fromEntries(url.searchParams), body: undefined, headers: req.headers, fault, aborted: false, chunks: 0 };
    requests.push(log);
    watchAbort(res, log);
    if (req.method !== 'POST' || !m) return detail(res, 404, 'not_found', `no route ${req.method} ${url.pathname}`);
    if (opts.apiKey && req.headers['xi-api-key'] !== opts.apiKey) return detail(res, 401, 'invalid_api_key', 'Invalid API key');
    try {
      log.body = JSON.parse(raw.toString('utf8'));
    } catch {
      return detail(res, 400, 'invalid_json', 'Request body is not valid JSON');
    }
    if (typeof log.body.text !== 'string') {
      res.writeHead(422, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ detail: [{ loc: ['body', 'text'], msg: 'field required', type: 'value_error.missing' }] }));
    }
    const format = log.query.output_format ?? 'mp3_44100_128';
    if (!FORMATS.has(format)) return detail(res, 400, 'invalid_output_format', `Unknown output format ${format}`);
    if (format !== 'ulaw_8000') return detail(res, 400, 'unsupported_by_fake', `the fake streams ulaw_8000 only, not ${format}`);
    if (opts.voices && !opts.voices.includes(log.voiceId)) return detail(res, 404, 'voice_not_found', `A voice with the voice_id ${log.voiceId} was not found.`);
    if (fault.kind === 'status') return detail(res, fault.status, fault.status === 429 ? 'too_many_concurrent_requests' : 'injected', `injected ${fault.status}`, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    if (fault.kind === 'hang') return;
    await stream(res, log, fault);
  });

  async function stream(res: ServerResponse, log: ElevenLabsRequestLog, fault: ElevenLabsFault) {
    const audio = speech(log.body.text.length * (opts.msPerChar ?? 60));
    probe.track(res);
    res.writeHead(200, { 'content-type': 'audio/basic', 'transfer-encoding': 'chunked', 'request-id': `req_${requests.length}` });
    res.flushHeaders();
    if (fault.kind === 'slow-first') await loop.wait(fault.ms);
    const step = 800; // 100 ms of 8 kHz μ-law
    for (let at = 0, i = 0; at < audio.length; at += step, i++) {
      if (log.aborted) return;
      if ((fault.kind === 'disconnect' || fault.kind === 'stall') && i === fault.afterChunks) {
        if (fault.kind === 'disconnect') return loop.drop(res);
        return; // stall: leave it open
      }
      res.write(audio.subarray(at, at + step));
      log.chunks++;
      if (i === 0) await probe.gate();
      await loop.wait(opts.chunkDelayMs ?? 2);
    }
    res.end();
  }

  return {
    baseURL: loop.origin,
    requests,
    probe,
    get connections() {
      return loop.connections;
    },
    setFaults: (f, d) => faults.set(f, d),
    close: loop.close,
  };
}
