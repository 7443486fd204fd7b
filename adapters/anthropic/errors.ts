// Maps what @anthropic-ai/sdk throws onto ProviderError kinds. An HTTP error carries its
// status; an `event: error` inside an SSE stream carries none, only the error's type
// (overloaded_error, rate_limit_error, api_error… in the Messages API's error shapes).
import { APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { ProviderError, type ProviderErrorKind } from '../kit/types.ts';
import { kindForStatus, retryAfterMs } from '../kit/http-status.ts';

const KIND_BY_TYPE: Record<string, ProviderErrorKind> = {
  invalid_request_error: 'bad_request',
  request_too_large: 'bad_request',
  not_found_error: 'bad_request',
  authentication_error: 'auth',
  permission_error: 'auth',
  rate_limit_error: 'rate_limited',
  api_error: 'server',
  overloaded_error: 'server',
  timeout_error: 'timeout',
};

export function mapAnthropicError(provider: string, e: unknown, signal?: AbortSignal): ProviderError {
  if (e instanceof ProviderError) return e;
  if (signal?.aborted || e instanceof APIUserAbortError || (e as Error)?.name === 'AbortError') {
    return new ProviderError(provider, 'aborted', 'aborted', undefined, { cause: e });
  }
  if (e instanceof APIConnectionTimeoutError) return new ProviderError(provider, 'timeout', 'request timed out', undefined, { cause: e });
  if (e instanceof APIError && (typeof e.status === 'number' || e.type)) {
    const kind = typeof e.status === 'number' ? kindForStatus(e.status) : (KIND_BY_TYPE[e.type ?? ''] ?? 'server');
    const where = typeof e.status === 'number' ? `HTTP ${e.status}` : `stream error ${e.type}`;
    const detail = (e.apiMessage ?? e.message).replace(/\s+/g, ' ').slice(0, 300);
    return new ProviderError(provider, kind, `${where}: ${detail}`, kind === 'rate_limited' || kind === 'server' ? retryAfterMs(e.headers) : undefined, { cause: e });
  }
  // Connection refused or reset, a socket dropped mid-stream, an SSE line that is not JSON.
  const msg = (e as Error)?.message ?? String(e);
  return new ProviderError(provider, 'server', msg.slice(0, 300), undefined, { cause: e });
}
