// Bearer-token check for the engine's own API. No token configured means the API is off (not
// open): it answers 503 saying how to turn it on.
import type { Config } from '../config.ts';
import { constantTimeEqual } from '../twilio/signature.ts';

export type ApiAuth = { ok: true } | { ok: false; status: string; error: string; headers: Record<string, string> };

export function checkApiAuth(config: Pick<Config, 'WEAVER_API_TOKEN'>, headers: Record<string, string>): ApiAuth {
  const token = config.WEAVER_API_TOKEN;
  if (!token) return { ok: false, status: '503 Service Unavailable', error: 'the engine API is disabled: set WEAVER_API_TOKEN to enable it', headers: {} };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  const challenge = { 'WWW-Authenticate': 'Bearer realm="weaver"' };
  if (!m) return { ok: false, status: '401 Unauthorized', error: 'missing bearer token (Authorization: Bearer <WEAVER_API_TOKEN>)', headers: challenge };
  if (!constantTimeEqual(m[1], token)) return { ok: false, status: '403 Forbidden', error: 'invalid bearer token', headers: {} };
  return { ok: true };
}
