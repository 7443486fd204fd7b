// A loopback fake of Anthropic's Messages API (POST /v1/messages) for the real @anthropic-ai/sdk.
// Checks what the service checks first (the key as x-api-key or, as SDK 1.x sends it,
// Authorization: Bearer; anthropic-version; model, max_tokens, a non-empty user-first
// conversation; under version 2026-10-21 no sampling parameters), and streams the answer as the documented SSE events:
// message_start, content_block_start, ping, content_block_delta (text_delta) per word,
// content_block_stop, message_delta (stop_reason), message_stop. Errors use the API's shape,
// {"type":"error","error":{"type":…,"message":…}} with a request-id header. Faults per request:
// HTTP errors (with retry-after), a hang before headers, a slow first token, a dropped
// connection, a clean end without message_stop, a stall, an `event: error` mid-stream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultQueue, Probe, readBody, startLoopback, watchAbort } from './loopback-http.ts';

export type AnthropicFault =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'hang' }
  | { kind: 'slow-first'; ms: number }
  | { kind: 'disconnect'; afterChunks: number }
  | { kind: 'truncate'; afterChunks: number }
  | { kind: 'stall'; afterChunks: number }
  /** An SSE `error` event after this many deltas, as the API sends when it overloads mid-answer. */
  | { kind: 'stream-error'; afterChunks: number; type: string };

export interface AnthropicRequestLog {
  body: any;
  headers: IncomingMessage['headers'];
  fault: AnthropicFault;
  /** The client closed the connection before the response finished. */
  aborted: boolean;
  chunks: number;
}

export interface FakeAnthropicOptions {
  reply?: string | ((body: any) => string);
  /** Requests with another x-api-key get 401 authentication_error. */
  apiKey?: string;
  chunkDelayMs?: number;
  faults?: AnthropicFault[];
  defaultFault?: AnthropicFault;
}

export interface FakeAnthropic {
  /** For the client's baseURL, e.g. http://127.0.0.1:1234 (the SDK adds /v1/messages). */
  baseURL: string;
  requests: AnthropicRequestLog[];
  probe: Probe;
  /** TCP connections accepted so far. */
  readonly connections: number;
  setFaults(f: AnthropicFault[], defaultFault?: AnthropicFault): void;
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

let seq = 0;

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake${++seq}`, ...headers });
  res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: `req_fake${seq}` }));
}

/** What the real API refuses before it streams anything (a subset, enough to catch a bad request shape). */
function invalid(body: any, version: string): string | undefined {
  if (typeof body?.model !== 'string' || !body.model) return 'model: Field required';
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) return 'max_tokens: Field required';
  const msgs = body.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) return 'messages: at least one message is required';
  if (msgs[0].role !== 'user') return 'messages: first message must use the "user" role';
  for (const [i, m] of msgs.entries()) {
    if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (typeof m.content === 'string' && !m.content) return `messages.${i}: text content blocks must be non-empty`;
  }
  const last = msgs[msgs.length - 1];
  if (last.role === 'assistant' && typeof last.content === 'string' && /\s$/.test(last.content)) return 'messages: final assistant content cannot end with trailing whitespace';
  for (const p of ['temperature', 'top_p', 'top_k']) if (version >= '2026-10-21' && body[p] !== undefined) return `${p}: not supported in API version ${version}`;
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) return 'system: Input should be a valid string';
  return undefined;
}

export async function startFakeAnthropic(opts: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const requests: AnthropicRequestLog[] = [];
  const faults = new FaultQueue<AnthropicFault>(opts.faults, opts.defaultFault ?? { kind: 'ok' });
  const probe = new Probe();

  const loop = await startLoopback(async (req, res) => {
    const raw = await readBody(req);
    const fault = faults.next();
    const log: AnthropicRequestLog = { body: undefined, headers: req.headers, fault, aborted: false, chunks: 0 };
    requests.push(log);
    watchAbort(res, log);
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/v1/messages') return sendError(res, 404, `no route ${req.method} ${req.url}`);
    const key = req.headers['x-api-key'] ?? req.headers.authorization?.replace(/^Bearer /, '');
    if (opts.apiKey && key !== opts.apiKey) return sendError(res, 401, 'invalid x-api-key');
    const version = req.headers['anthropic-version'];
    if (!version) return sendError(res, 400, 'anthropic-version: header is required');
    try {
      log.body = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendError(res, 400, 'There was an issue with your request body: invalid JSON');
    }
    const problem = invalid(log.body, String(version));
    if (problem) return sendError(res, 400, problem);
    if (fault.kind === 'status') return sendError(res, fault.status, `injected ${fault.status}`, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    if (fault.kind === 'hang') return; // the client's abort or timeout ends it
    if (log.body.stream !== true) return sendError(res, 400, 'the fake streams only: set stream: true');
    await stream(res, log, fault);
  });

  const event = (res: ServerResponse, type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);

  async function stream(res: ServerResponse, log: AnthropicRequestLog, fault: AnthropicFault) {
    const model = String(log.body.model);
    const text = typeof opts.reply === 'function' ? opts.reply(log.body) : (opts.reply ?? 'Hello! We are open from nine to five, Monday to Friday.');
    const words = text.match(/\S+\s*/g) ?? [];
    probe.track(res);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_fake${++seq}` });
    res.flushHeaders();
    event(res, 'message_start', { message: { id: `msg_fake${seq}`, type: 'message', role: 'assistant', content: [], model, stop_reason: null, stop_sequence: null, usage: { input_tokens: 25, output_tokens: 1 } } });
    if (fault.kind === 'slow-first') await loop.wait(fault.ms);
    if (log.aborted) return;
    event(res, 'content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    event(res, 'ping', {});
    for (let i = 0; i < words.length; i++) {
      if (log.aborted) return;
      if ('afterChunks' in fault && i === fault.afterChunks) {
        if (fault.kind === 'disconnect') return loop.drop(res);
        if (fault.kind === 'truncate') return void res.end();
        if (fault.kind === 'stream-error') {
          event(res, 'error', { error: { type: fault.type, message: 'Overloaded' } });
          return void res.end();
        }
        return; // stall: leave it open
      }
      event(res, 'content_block_delta', { index: 0, delta: { type: 'text_delta', text: words[i] } });
      log.chunks++;
      if (i === 0) await probe.gate();
      await loop.wait(opts.chunkDelayMs ?? 2);
    }
    if (log.aborted) return;
    event(res, 'content_block_stop', { index: 0 });
    event(res, 'message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: words.length } });
    event(res, 'message_stop', {});
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
