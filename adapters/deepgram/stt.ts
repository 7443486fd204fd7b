// Deepgram streaming recognition over its documented WebSocket protocol (the `ws` client):
// one socket per call to wss://api.deepgram.com/v1/listen with the audio format and features as
// query parameters and `Authorization: Token <key>`. Binary frames carry 8 kHz PCM16 as pushed;
// text frames come back: Results (is_final false = interim → onInterim; true = a finished
// segment of the turn; speech_final = Deepgram's endpoint; from_finalize = the answer to our
// Finalize), UtteranceEnd, SpeechStarted and Metadata. endTurn() asks for the rest with
// {"type":"Finalize"} unless Deepgram already endpointed with nothing pending. Errors come as a
// refused upgrade (HTTP status, dg-error header) or a close frame (1008 DATA-…, 1011 NET-…).
import WebSocket from 'ws';
import { ProviderError, type CallContext, type SttProvider, type SttResult, type SttStream } from '../kit/types.ts';
import { kindForStatus, retryAfterMs } from '../kit/http-status.ts';

export interface DeepgramSttOptions {
  apiKey: string;
  /** Streaming endpoint; default wss://api.deepgram.com/v1/listen (ws:// for a loopback fake). */
  url?: string;
  /** Default "nova-3". */
  model?: string;
  /** Overrides the call's language; "multi" recognises and reports code-switched languages. */
  language?: string;
  /** Silence (ms) after which Deepgram marks speech_final. Default 300. */
  endpointingMs?: number;
  /** Gap (ms) after the last word for an UtteranceEnd message (≥ 1000 per Deepgram). Default 1000. */
  utteranceEndMs?: number;
  smartFormat?: boolean;
  /** Longest wait in endTurn() for Deepgram's answer to Finalize (ms). Default 1500. */
  finalWaitMs?: number;
  name?: string;
}

/** Deepgram's Results message, the fields this adapter reads. */
interface DgResults {
  type: 'Results';
  is_final?: boolean;
  speech_final?: boolean;
  from_finalize?: boolean;
  channel?: { alternatives?: Array<{ transcript?: string; confidence?: number; languages?: string[] }> };
}

const SAMPLE_RATE = 8000;
/** Audio queued while the socket connects (bytes of PCM16, 10 s); older frames are dropped. */
const MAX_QUEUED_BYTES = SAMPLE_RATE * 2 * 10;
/** Deepgram closes a socket that gets no audio and no KeepAlive for 10 s (NET-0001). */
const KEEPALIVE_MS = 4000;

export class DeepgramStt implements SttProvider {
  readonly name: string;
  readonly url: string;

  constructor(readonly opts: DeepgramSttOptions) {
    if (!opts.apiKey) throw new Error('DeepgramStt: apiKey is required');
    this.url = opts.url ?? 'wss://api.deepgram.com/v1/listen';
    if (!/^wss?:\/\//.test(this.url)) throw new Error(`DeepgramStt: url must be a ws(s):// URL, got "${this.url}"`);
    if (opts.endpointingMs !== undefined && !(Number.isInteger(opts.endpointingMs) && opts.endpointingMs >= 10)) throw new Error(`DeepgramStt: endpointingMs must be an integer ≥ 10, got ${opts.endpointingMs}`);
    if (opts.utteranceEndMs !== undefined && !(Number.isInteger(opts.utteranceEndMs) && opts.utteranceEndMs >= 1000)) throw new Error(`DeepgramStt: utteranceEndMs must be an integer ≥ 1000, got ${opts.utteranceEndMs}`);
    if (opts.finalWaitMs !== undefined && !(opts.finalWaitMs >= 0)) throw new Error(`DeepgramStt: finalWaitMs must be ≥ 0, got ${opts.finalWaitMs}`);
    this.name = opts.name ?? `deepgram/${opts.model ?? 'nova-3'}`;
  }

  /** The listen URL for a call: audio format and features as Deepgram's query parameters. */
  listenUrl(ctx: CallContext): string {
    const o = this.opts;
    const u = new URL(this.url);
    const q: Record<string, string> = {
      model: o.model ?? 'nova-3',
      language: o.language ?? (ctx.language || 'en-US'),
      encoding: 'linear16',
      sample_rate: String(SAMPLE_RATE),
      channels: '1',
      interim_results: 'true',
      endpointing: String(o.endpointingMs ?? 300),
      utterance_end_ms: String(o.utteranceEndMs ?? 1000),
      vad_events: 'true',
      punctuate: 'true',
      smart_format: String(o.smartFormat ?? true),
    };
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
    return u.toString();
  }

  open(ctx: CallContext, signal: AbortSignal): SttStream {
    return new DeepgramSttStream(this, ctx, signal);
  }
}

class DeepgramSttStream implements SttStream {
  onInterim?: (text: string) => void;
  private readonly ws: WebSocket;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private closed = false;
  private error: ProviderError | undefined;
  /** Final segments of the current turn. */
  private finals: Array<{ text: string; confidence?: number; language?: string }> = [];
  /** The latest interim transcript not yet made final. */
  private pending = '';
  /** Deepgram endpointed (speech_final or UtteranceEnd) after the last final segment. */
  private endpointed = false;
  private finalizeAnswered = false;
  private heardFromService = false;
  private speechThisTurn = false;
  private lastSentAt = Date.now();
  private keepAlive: ReturnType<typeof setInterval>;
  private wake: Array<() => void> = [];

  constructor(
    private readonly p: DeepgramStt,
    ctx: CallContext,
    callSignal: AbortSignal,
  ) {
    const name = p.name;
    this.ws = new WebSocket(p.listenUrl(ctx), { headers: { Authorization: `Token ${p.opts.apiKey}` } });
    this.ws.on('unexpected-response', (_req, res) => {
      // A refused upgrade: the HTTP status decides the kind; Deepgram explains in dg-error.
      const status = res.statusCode ?? 0;
      const why = (res.headers['dg-error'] as string | undefined) ?? res.statusMessage ?? '';
      this.fail(new ProviderError(name, kindForStatus(status), `HTTP ${status} at upgrade: ${why}`.slice(0, 300), retryAfterMs(res.headers)));
      res.resume();
      this.ws.terminate();
    });
    this.ws.on('open', () => {
      for (const b of this.queue) this.ws.send(b);
      this.queue = [];
      this.queuedBytes = 0;
    });
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onMessage(data.toString());
    });
    this.ws.on('error', (e) => this.fail(new ProviderError(name, 'server', `socket error: ${e.message}`, undefined, { cause: e })));
    this.ws.on('close', (code, reason) => {
      clearInterval(this.keepAlive);
      if (this.closed) return;
      // Closed by Deepgram: 1008 DATA-0000 undecodable audio; 1011 NET-0000/NET-0001 timeouts.
      const why = reason.toString() || 'no reason';
      const kind = code === 1008 || code === 1007 || code === 1003 ? 'bad_request' : 'server';
      this.fail(new ProviderError(name, kind, `socket closed by the service (${code} ${why})`));
    });
    this.keepAlive = setInterval(() => {
      if (this.ws.readyState === WebSocket.OPEN && Date.now() - this.lastSentAt >= KEEPALIVE_MS) this.sendJson({ type: 'KeepAlive' });
    }, KEEPALIVE_MS);
    this.keepAlive.unref?.();
    if (callSignal.aborted) this.close();
    else callSignal.addEventListener('abort', () => this.close(), { once: true });
  }

  private fail(e: ProviderError): void {
    this.error ??= e;
    this.notify();
  }

  private notify(): void {
    for (const w of this.wake.splice(0)) w();
  }

  private sendJson(msg: object): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(msg));
    this.lastSentAt = Date.now();
  }

  private onMessage(raw: string): void {
    if (this.closed) return;
    let msg: { type?: string };
    try {
      msg = JSON.parse(raw);
    } catch {
      return this.fail(new ProviderError(this.p.name, 'server', `malformed message: ${raw.slice(0, 80)}`));
    }
    this.heardFromService = true;
    if (msg.type === 'Results') this.onResults(msg as DgResults);
    else if (msg.type === 'UtteranceEnd') this.endpointed = this.pending === '';
    else if (msg.type === 'SpeechStarted') this.endpointed = false; // more speech after an endpoint
    this.notify();
  }

  private onResults(r: DgResults): void {
    const alt = r.channel?.alternatives?.[0];
    const text = (alt?.transcript ?? '').trim();
    if (r.from_finalize) this.finalizeAnswered = true;
    if (!r.is_final) {
      this.pending = text;
      this.endpointed = false;
      if (text) this.onInterim?.(this.turnText(text));
      return;
    }
    this.pending = '';
    if (text) this.finals.push({ text, confidence: alt?.confidence, language: alt?.languages?.[0] });
    if (r.speech_final) this.endpointed = true;
  }

  private turnText(extra = ''): string {
    return [...this.finals.map((f) => f.text), extra].filter(Boolean).join(' ');
  }

  push(pcm: Int16Array, speech: boolean): void {
    if (this.closed || !(pcm instanceof Int16Array) || pcm.length === 0) return; // an empty frame would end Deepgram's stream
    if (speech) this.speechThisTurn = true;
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(bytes);
      this.lastSentAt = Date.now();
      return;
    }
    if (this.ws.readyState !== WebSocket.CONNECTING) return;
    this.queue.push(Buffer.from(bytes)); // a copy: the caller may reuse its frame buffer
    this.queuedBytes += bytes.length;
    while (this.queuedBytes > MAX_QUEUED_BYTES) this.queuedBytes -= this.queue.shift()!.length;
  }

  async endTurn(signal: AbortSignal): Promise<SttResult> {
    const name = this.p.name;
    if (this.closed) throw new ProviderError(name, 'bad_request', 'endTurn() after close()');
    if (signal.aborted) throw new ProviderError(name, 'aborted', 'aborted');
    const hadSpeech = this.speechThisTurn;
    this.speechThisTurn = false;
    // Done when Deepgram endpointed with nothing pending; else when it answers our Finalize.
    const endpointed = () => this.error !== undefined || this.closed || (this.pending === '' && (this.endpointed || !hadSpeech));
    if (!endpointed()) {
      this.finalizeAnswered = false;
      await this.whenOpen(signal);
      this.sendJson({ type: 'Finalize' });
      await this.waitFor(() => endpointed() || this.finalizeAnswered, this.p.opts.finalWaitMs ?? 1500, signal);
    }
    if (signal.aborted) throw new ProviderError(name, 'aborted', 'aborted');
    if (this.error) throw this.error;
    if (hadSpeech && !this.heardFromService && this.finals.length === 0) throw new ProviderError(name, 'timeout', 'no response from Deepgram for this turn');
    const text = this.turnText(this.pending); // words still interim when the wait ran out are the best there is
    const parts = this.finals.splice(0);
    this.pending = '';
    this.endpointed = false;
    const language = parts.map((f) => f.language).filter(Boolean).pop();
    const conf = parts.map((f) => f.confidence).filter((c): c is number => typeof c === 'number');
    return { text, ...(language ? { language } : {}), ...(conf.length ? { confidence: Math.min(...conf) } : {}) };
  }

  /** Resolves once the socket is open (or failed/closed), or when the wait runs out. */
  private whenOpen(signal: AbortSignal): Promise<void> {
    return this.waitFor(() => this.ws.readyState !== WebSocket.CONNECTING || this.error !== undefined, this.p.opts.finalWaitMs ?? 1500, signal);
  }

  private waitFor(cond: () => boolean, ms: number, signal: AbortSignal): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      // The socket's open event does not notify(); a light poll covers it.
      const poll = setInterval(() => cond() && done(), 20);
      signal.addEventListener('abort', done, { once: true });
      const check = () => (cond() ? done() : this.wake.push(check));
      this.wake.push(check);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    this.queue = [];
    this.notify();
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'CloseStream' })); // tells Deepgram the stream is over
      this.ws.close(1000);
      setTimeout(() => this.ws.terminate(), 1000).unref?.(); // a peer that never answers the close frame
    } else {
      this.ws.terminate(); // still connecting: abandon the handshake
    }
  }
}
