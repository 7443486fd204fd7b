// How an HTTP answer maps onto the contract's failure kinds (docs/adapters.md, rule 3), shared
// by every adapter that talks HTTP or upgrades a WebSocket over it: the status decides the
// ProviderErrorKind, and `retry-after-ms` / `retry-after` give retryAfterMs.
import type { ProviderErrorKind } from './types.ts';

/** 401/403 auth, 429 rate_limited, 408 timeout, 5xx (and 529 "overloaded") server, other 4xx bad_request. */
export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server';
  if (status >= 400) return 'bad_request';
  return 'unknown';
}

type HeaderSource = { get(name: string): string | null | undefined } | Record<string, string | string[] | undefined>;

function header(h: HeaderSource, name: string): string | undefined {
  const v = typeof h.get === 'function' ? (h as { get(n: string): string | null | undefined }).get(name) : (h as Record<string, string | string[] | undefined>)[name];
  return (Array.isArray(v) ? v[0] : v) ?? undefined;
}

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date); Headers or a Node header object. */
export function retryAfterMs(headers: HeaderSource | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = header(headers, 'retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = header(headers, 'retry-after');
  if (!ra) return undefined;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
