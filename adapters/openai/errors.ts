// Maps what the openai client throws onto ProviderError kinds, which hedging and breakers act
// on. Shared by the OpenAI and Azure OpenAI adapters (same client library).
import { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ProviderError } from '../kit/types.ts';
import { kindForStatus, retryAfterMs } from '../kit/http-status.ts';

export { retryAfterMs };

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
