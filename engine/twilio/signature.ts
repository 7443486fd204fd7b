// X-Twilio-Signature checks for webhooks and WebSocket upgrades. Twilio signs the URL it was
// configured with (https://PUBLIC_HOST/…), not the one we see behind a TLS proxy, so the URL is
// rebuilt from PUBLIC_HOST. twilio-node computes the signatures; comparisons are constant-time.
import { createHash, timingSafeEqual } from 'node:crypto';
import twilio from 'twilio';
import type { Config } from '../config.ts';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { guard, readBody, requestInfo, send, type RequestInfo } from '../http.ts';

export type Verdict = { ok: true; verified: boolean } | { ok: false; reason: string };

type SignatureConfig = Pick<Config, 'TWILIO_AUTH_TOKEN' | 'PUBLIC_HOST'>;

/** Constant-time string equality: hashing first makes the comparison independent of length too. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** The host Twilio reaches: PUBLIC_HOST, else the request's Host header (direct exposure only). */
export function publicHost(config: SignatureConfig, info: Pick<RequestInfo, 'headers'>): string {
  return config.PUBLIC_HOST ?? info.headers.host ?? 'localhost';
}

/** The webhook URL as Twilio signed it: https://PUBLIC_HOST + path + query. */
export function webhookUrl(config: SignatureConfig, info: Pick<RequestInfo, 'headers' | 'url' | 'query'>): string {
  return `https://${publicHost(config, info)}${info.url}${info.query ? `?${info.query}` : ''}`;
}

/** The stream URL from our TwiML, which Twilio signs with no parameters: wss://PUBLIC_HOST/path. */
export function upgradeUrl(config: SignatureConfig, info: Pick<RequestInfo, 'headers' | 'url'>): string {
  return `wss://${publicHost(config, info)}${info.url}`;
}

/** Form-encoded POST params; a repeated name becomes an array, as twilio-node expects. */
export function formParams(body: Buffer | string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** One value per name (the last), for fields Twilio sends once. */
export function flatParams(p: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) out[k] = Array.isArray(v) ? v[v.length - 1] : v;
  return out;
}

/**
 * Checks a webhook (POST) before any work is done. With no auth token configured every request
 * passes unverified (the engine warns about that at startup).
 */
export function checkWebhook(config: SignatureConfig, info: RequestInfo, body: Buffer | string): Verdict {
  const token = config.TWILIO_AUTH_TOKEN;
  if (!token) return { ok: true, verified: false };
  const sig = info.headers['x-twilio-signature'];
  if (!sig) return { ok: false, reason: 'missing X-Twilio-Signature' };
  const url = webhookUrl(config, info);
  let valid = false;
  try {
    // JSON bodies are signed over the URL (which carries bodySHA256) plus a hash of the body.
    valid = new URLSearchParams(info.query).has('bodySHA256')
      ? twilio.validateRequestWithBody(token, sig, url, typeof body === 'string' ? body : body.toString('utf8'))
      : twilio.validateRequest(token, sig, url, formParams(body));
  } catch {
    valid = false; // an unparsable URL is simply not a valid signature
  }
  return valid ? { ok: true, verified: true } : { ok: false, reason: 'invalid X-Twilio-Signature' };
}

/** Checks a WebSocket upgrade (Media Streams or ConversationRelay). */
export function checkUpgrade(config: SignatureConfig, info: RequestInfo): Verdict {
  const token = config.TWILIO_AUTH_TOKEN;
  if (!token) return { ok: true, verified: false };
  const sig = info.headers['x-twilio-signature'];
  if (!sig) return { ok: false, reason: 'missing X-Twilio-Signature' };
  const expected = twilio.getExpectedTwilioSignature(token, upgradeUrl(config, info), {});
  return constantTimeEqual(sig, expected) ? { ok: true, verified: true } : { ok: false, reason: 'invalid X-Twilio-Signature' };
}

/** Startup warnings about how the deployment is (not) secured; main.ts logs each one. */
export function securityWarnings(config: Pick<Config, 'TWILIO_AUTH_TOKEN' | 'PUBLIC_HOST' | 'WEAVER_API_TOKEN'>): string[] {
  const out: string[] = [];
  if (!config.TWILIO_AUTH_TOKEN)
    out.push('TWILIO_AUTH_TOKEN is not set: requests are not verified; anyone who can reach this port can open calls (set it, with PUBLIC_HOST, in production)');
  else if (!config.PUBLIC_HOST)
    out.push('TWILIO_AUTH_TOKEN is set but PUBLIC_HOST is not: signatures are checked against the Host header, which fails behind a proxy that rewrites it');
  if (!config.WEAVER_API_TOKEN) out.push('WEAVER_API_TOKEN is not set: the engine API (POST /calls, GET /calls/:sid) is disabled');
  return out;
}

/** Where refused webhook requests are counted (weaver_webhook_rejected_total). */
export interface RejectCounter {
  inc(labels: { route: string; status: string }): void;
}

/**
 * A uWS handler for a Twilio webhook: reads the form body (≤ 64 KiB, else 413), answers 403 to a
 * missing or bad signature before any work, then hands the request to `handle`. Every refusal,
 * here or through the handler's `reject`, is counted by route and status.
 */
export function twilioWebhook(
  config: Config,
  rejected: RejectCounter,
  handle: (ctx: { res: HttpResponse; g: { aborted: boolean }; info: RequestInfo; body: Buffer; reject(status: string, text: string): void }) => void,
): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const info = requestInfo(req);
    const g = guard(res);
    const reject = (status: string, text: string) => {
      rejected.inc({ route: info.url, status: status.slice(0, 3) });
      send(res, g, status, 'text/plain', text);
    };
    readBody(res, 64 * 1024).then(
      (body) => {
        const v = checkWebhook(config, info, body);
        if (!v.ok) return reject('403 Forbidden', v.reason);
        handle({ res, g, info, body, reject });
      },
      (e) => reject('413 Payload Too Large', String(e.message)),
    );
  };
}
