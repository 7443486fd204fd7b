// A loopback OpenAI-compatible HTTP server for tests: chat completions streamed as SSE in
// OpenAI's exact chunk format (ending with `data: [DONE]`), audio transcriptions (multipart WAV
// upload) and audio speech (streamed PCM 24 kHz or WAV). The same routes answer under Azure's
// deployment paths. Faults are injected per request: HTTP errors (with retry-after), a hang
// before the first byte, a slow first token, a disconnect, a clean truncation or a stall
// mid-stream, and malformed SSE. Every request is logged, including whether the client aborted.
// With `tls` it serves HTTPS (HTTP/2 by ALPN too, with `http2`), as the real service does, and
// counts the connections it accepted, so tests can see connection reuse and pre-connects.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; retryAfter?: string; message?: string }
  /** Accept the request, never send headers. */
  | { kind: 'hang' }
  /** Send headers, then wait this long before the first chunk. */
  | { kind: 'slow-first'; ms: number }
  /** Destroy the socket after this many content chunks. */
  | { kind: 'disconnect'; afterChunks: number }
  /** End the response cleanly after this many chunks, with no finish_reason and no [DONE]. */
  | { kind: 'truncate'; afterChunks: number }
  /** Keep the connection open but send nothing more after this many chunks. */
  | { kind: 'stall'; afterChunks: number }
  /** Send a line of SSE that is not JSON after the first chunk. */
  | { kind: 'malformed' };

export interface RequestLog {
  path: string;
  route: 'chat' | 'transcription' | 'speech' | 'other';
  body: any;
  fault: Fault;
  auth: string | undefined;
  /** The client closed the connection before the response finished. */
  aborted: boolean;
  finished: boolean;
  /** Content chunks written. */
  chunks: number;
  /** "1.1" or "2.0". */
  httpVersion: string;
  /** Transcriptions: the uploaded WAV's sample rate and byte size. */
  upload?: { sampleRate: number; bytes: number; filename: string };
}

export interface FakeOpenAiOptions {
  /** The chat answer (split into word chunks). */
  reply?: string | ((body: any) => string);
  /** 'rest': a continuation request gets only what the partial answer lacks; 'restart': the whole answer again. */
  continuation?: 'rest' | 'restart';
  chunkDelayMs?: number;
  transcript?: string | ((upload: { sampleRate: number; bytes: number }) => string);
  /** Synthesized duration per input character (default 60 ms). */
  speechMsPerChar?: number;
  /** When set, requests with another key get 401. */
  apiKey?: string;
  /** Faults consumed one per request, in order; then `defaultFault`. */
  faults?: Fault[];
  defaultFault?: Fault;
  /** How long the server keeps an idle connection (ms); Node's default is 5 s. */
  keepAliveMs?: number;
  /** Serve HTTPS with this certificate (test/support/tls-cert.ts); `http2` offers h2 by ALPN beside HTTP/1.1. */
  tls?: { key: string; cert: string; http2?: boolean };
}

export interface FakeOpenAi {
  /** OpenAI-style base URL, e.g. http://127.0.0.1:1234/v1 */
  baseURL: string;
  /** Azure-style endpoint root, e.g. http://127.0.0.1:1234 */
  origin: string;
  requests: RequestLog[];
  opts: FakeOpenAiOptions;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Port the server listens on (127.0.0.1). */
  port: number;
  setFaults(f: Fault[], defaultFault?: Fault): void;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function words(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

/** 24 kHz PCM16 LE speech-like test signal (an amplitude-modulated 220 Hz tone). */
function synth(ms: number): Buffer {
  const n = Math.round((ms / 1000) * 24_000);
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / 24_000;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    b.writeInt16LE(Math.round(9000 * env * Math.sin(2 * Math.PI * 220 * t)), i * 2);
  }
  return b;
}

function wavHeader24k(): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(0xffffffff, 4); // streamed: size unknown, as OpenAI sends it
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(24_000, 24);
  h.writeUInt32LE(48_000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(0xffffffff, 40);
  return h;
}

export async function startFakeOpenAi(opts: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  const requests: RequestLog[] = [];
  let faults = [...(opts.faults ?? [])];
  const sockets = new Set<import('node:net').Socket>();
  const pendingTimers = new Set<ReturnType<typeof setTimeout>>();

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const route: RequestLog['route'] = path.endsWith('/chat/completions') ? 'chat' : path.endsWith('/audio/transcriptions') ? 'transcription' : path.endsWith('/audio/speech') ? 'speech' : 'other';
    const raw = await readBody(req).catch(() => Buffer.alloc(0));
    const fault = faults.shift() ?? opts.defaultFault ?? { kind: 'ok' };
    const auth = (req.headers['authorization'] as string | undefined)?.replace(/^Bearer /, '') ?? (req.headers['api-key'] as string | undefined);
    const log: RequestLog = { path, route, body: undefined, fault, auth, aborted: false, finished: false, chunks: 0, httpVersion: req.httpVersion };
    requests.push(log);
    res.on('close', () => {
      if (!res.writableFinished) log.aborted = true;
    });
    res.on('finish', () => (log.finished = true));

    if (opts.apiKey && auth !== opts.apiKey) return json(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
    if (fault.kind === 'status') {
      const headers: Record<string, string> = fault.retryAfter ? { 'retry-after': fault.retryAfter } : {};
      return json(res, fault.status, { error: { message: fault.message ?? `injected ${fault.status}`, type: 'server_error', code: null } }, headers);
    }
    if (fault.kind === 'hang') return; // the client's abort or timeout ends it

    try {
      if (route === 'chat') {
        log.body = JSON.parse(raw.toString('utf8'));
        await streamChat(req, res, log, fault);
      } else if (route === 'transcription') {
        const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
        const file = form.get('file') as File | null;
        const fields: Record<string, string> = {};
        form.forEach((v, k) => {
          if (typeof v === 'string') fields[k] = v;
        });
        log.body = fields;
        if (!file) return json(res, 400, { error: { message: 'file is required' } });
        const bytes = new Uint8Array(await file.arrayBuffer());
        const sampleRate = bytes.length >= 28 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readUInt32LE(24) : 0;
        log.upload = { sampleRate, bytes: bytes.length, filename: file.name };
        if (fault.kind === 'slow-first') await sleep(fault.ms);
        if (log.aborted) return;
        const text = typeof opts.transcript === 'function' ? opts.transcript({ sampleRate, bytes: bytes.length }) : (opts.transcript ?? 'hello from the fake transcriber');
        if (fault.kind === 'disconnect' || fault.kind === 'truncate') return void res.socket?.destroy();
        if (fault.kind === 'malformed') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end('{"text": ');
        }
        return json(res, 200, { text });
      } else if (route === 'speech') {
        log.body = JSON.parse(raw.toString('utf8'));
        await streamSpeech(res, log, fault);
      } else {
        json(res, 404, { error: { message: `no route ${path}` } });
      }
    } catch (e) {
      if (!res.headersSent) json(res, 500, { error: { message: (e as Error).message } });
      else res.destroy();
    }
  };
  // The HTTP/2 compatibility API hands the same handler request/response objects of the same shape.
  const server: Server = opts.tls
    ? opts.tls.http2
      ? (createSecureServer({ key: opts.tls.key, cert: opts.tls.cert, allowHTTP1: true }, handler as never) as unknown as Server)
      : createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler)
    : createServer(handler);
  let connections = 0;
  if (opts.keepAliveMs !== undefined) server.keepAliveTimeout = opts.keepAliveMs;

  const wait = async (ms: number) => {
    if (ms <= 0) return;
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        pendingTimers.delete(t);
        r();
      }, ms);
      pendingTimers.add(t);
    });
  };

  /** Drops the connection mid-response: what was written arrives, then the socket closes. */
  async function disconnect(res: ServerResponse) {
    await wait(20); // let the written chunks reach the client before the close
    res.socket?.end();
    res.socket?.destroySoon?.();
  }

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  function chatReply(body: any): string {
    const full = typeof opts.reply === 'function' ? opts.reply(body) : (opts.reply ?? 'Hello! This is the fake model answering your question in a few short words.');
    const msgs = body.messages ?? [];
    const last = msgs[msgs.length - 1];
    const prev = msgs[msgs.length - 2];
    const isContinuation = last?.role === 'user' && /cut off/.test(String(last.content)) && prev?.role === 'assistant';
    if (isContinuation && (opts.continuation ?? 'rest') === 'rest') {
      const partial = String(prev.content);
      return full.startsWith(partial) ? full.slice(partial.length) : full;
    }
    return full;
  }

  async function streamChat(_req: IncomingMessage, res: ServerResponse, log: RequestLog, fault: Fault) {
    const id = `chatcmpl-fake${requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    const model = String(log.body.model ?? 'fake');
    const frame = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    // HTTP/2 forbids connection-specific headers.
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...(_req.httpVersionMajor === 2 ? {} : { connection: 'keep-alive' }) });
    res.flushHeaders();
    if (fault.kind === 'slow-first') await wait(fault.ms);
    if (log.aborted) return;
    res.write(frame({ role: 'assistant', content: '', refusal: null }, null));
    const parts = words(chatReply(log.body));
    for (let i = 0; i < parts.length; i++) {
      if (log.aborted) return;
      if ((fault.kind === 'disconnect' || fault.kind === 'truncate' || fault.kind === 'stall') && i === fault.afterChunks) {
        if (fault.kind === 'disconnect') return disconnect(res);
        if (fault.kind === 'truncate') return void res.end();
        return; // stall: leave it open
      }
      if (fault.kind === 'malformed' && i === 1) {
        res.write('data: {"id": "broken", "choices": [\n\n');
        return void res.end();
      }
      res.write(frame({ content: parts[i] }, null));
      log.chunks++;
      await wait(opts.chunkDelayMs ?? 2);
    }
    res.write(frame({}, 'stop'));
    res.write('data: [DONE]\n\n');
    res.end();
  }

  async function streamSpeech(res: ServerResponse, log: RequestLog, fault: Fault) {
    const input = String(log.body.input ?? '');
    const format = log.body.response_format ?? 'mp3';
    if (format !== 'pcm' && format !== 'wav') return json(res, 400, { error: { message: `fake supports pcm and wav, not ${format}` } });
    const pcm = synth(input.length * (opts.speechMsPerChar ?? 60));
    res.writeHead(200, { 'content-type': format === 'wav' ? 'audio/wav' : 'audio/pcm', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (fault.kind === 'slow-first') await wait(fault.ms);
    if (format === 'wav') res.write(wavHeader24k());
    const step = 4800; // 100 ms of 24 kHz PCM16
    for (let at = 0, i = 0; at < pcm.length; i++) {
      if (log.aborted) return;
      if ((fault.kind === 'disconnect' || fault.kind === 'truncate' || fault.kind === 'stall') && i === fault.afterChunks) {
        if (fault.kind === 'disconnect') return disconnect(res);
        if (fault.kind === 'truncate') return void res.end();
        return;
      }
      // Odd-sized pieces on purpose: real servers do not align chunks to samples.
      const size = step + (i % 2 === 0 ? 1 : -1);
      res.write(pcm.subarray(at, at + size));
      at += size;
      log.chunks++;
      await wait(opts.chunkDelayMs ?? 2);
    }
    res.end();
  }

  server.on('connection', (s: import('node:net').Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const scheme = opts.tls ? 'https' : 'http';
  return {
    baseURL: `${scheme}://127.0.0.1:${port}/v1`,
    origin: `${scheme}://127.0.0.1:${port}`,
    requests,
    opts,
    port,
    get connections() {
      return connections;
    },
    setFaults(f, d) {
      faults = [...f];
      if (d) opts.defaultFault = d;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const t of pendingTimers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
