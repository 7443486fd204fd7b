// The `openai` client every OpenAI adapter builds: no hidden retries (hedging and failover are
// the engine's job) and requests through a keep-alive, HTTP/2-capable connection pool.
import OpenAI from 'openai';
import { sharedHttpPool, type HttpPool } from '../kit/http-pool.ts';

export interface OpenAiClientOptions {
  apiKey?: string;
  baseURL?: string;
  timeoutMs?: number;
  maxRetries?: number;
}

export function openAiClient(o: OpenAiClientOptions, http: HttpPool = sharedHttpPool()): OpenAI {
  return new OpenAI({ apiKey: o.apiKey, baseURL: o.baseURL, maxRetries: o.maxRetries ?? 0, timeout: o.timeoutMs ?? 30_000, fetch: http.fetch });
}
