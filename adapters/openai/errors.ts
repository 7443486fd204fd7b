// Maps what the openai client throws onto ProviderError kinds, which hedging and breakers act
// on. Shared by the OpenAI and Azure OpenAI adapters (same client library).
import { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ProviderError, type ProviderErrorKind } from '../kit/types.ts';

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers?.get('retry-after');
  if (!ra) return undefined;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function kindForStatus(status: number): ProviderErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server';
  if (status >= 400) return 'bad_request';
  return 'unknown';
}

export function mapOpenAiError(provider: string, e: unknown, signal?: AbortSignal): ProviderError {
  if (e instanceof ProviderError) return e;
  if (signal?.aborted || e instanceof APIUserAbortError || (e as Error)?.name === 'AbortError') {
    return new ProviderError(provider, 'aborted', 'aborted', undefined, { cause: e });
  }
  if (e instanceof APIConnectionTimeoutError) return new ProviderError(provider, 'timeout', 'request timed out', undefined, { cause: e });
  if (e instanceof APIError && typeof e.status === 'number') {
    const kind = kindForStatus(e.status);
    const detail = e.message.replace(/\s+/g, ' ').slice(0, 300);
    return new ProviderError(provider, kind, `HTTP ${e.status}: ${detail}`, kind === 'rate_limited' || kind === 'server' ? retryAfterMs(e.headers) : undefined, { cause: e });
  }
  // Connection refused/reset, a socket dropped mid-stream, or a stream we could not parse.
  const msg = (e as Error)?.message ?? String(e);
  return new ProviderError(provider, 'server', msg.slice(0, 300), undefined, { cause: e });
}
