// Small helpers over uWebSockets.js's HttpResponse: read a body with a size cap, answer JSON
// or text. After any await, writes must be corked and skipped if the client went away.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';

export interface RequestInfo {
  method: string;
  url: string;
  query: string;
  headers: Record<string, string>;
}

/** Everything a handler needs from `req`, which uWS invalidates once the handler returns. */
export function requestInfo(req: HttpRequest): RequestInfo {
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    headers[k] = v;
  });
  return { method: req.getMethod().toUpperCase(), url: req.getUrl(), query: req.getQuery() ?? '', headers };
}

/** Tracks whether the client aborted, so late writes are skipped instead of throwing. */
export function guard(res: HttpResponse): { aborted: boolean } {
  const state = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

export function readBody(res: HttpResponse, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      size += chunk.byteLength;
      if (size > maxBytes) return reject(new Error(`body exceeds ${maxBytes} bytes`));
      parts.push(Buffer.from(new Uint8Array(chunk).slice())); // uWS reuses the chunk's memory
      if (isLast) resolve(Buffer.concat(parts));
    });
  });
}

export function send(res: HttpResponse, g: { aborted: boolean }, status: string, contentType: string, body: string | Uint8Array, headers: Record<string, string> = {}): void {
  if (g.aborted) return;
  res.cork(() => {
    res.writeStatus(status).writeHeader('Content-Type', contentType);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(body);
  });
}

export const sendJson = (res: HttpResponse, g: { aborted: boolean }, status: string, body: unknown): void =>
  send(res, g, status, 'application/json', JSON.stringify(body));
