// Azure OpenAI chat completions: the same streaming adapter as OpenAI, with the client library's
// AzureOpenAI client (deployment-scoped URL, api-version query, api-key header), over the same
// kind of pooled, pre-connected connections.
import { AzureOpenAI } from 'openai';
import { OpenAiLlm } from '../openai/llm.ts';
import { sharedHttpPool, type HttpPool } from '../kit/http-pool.ts';

export interface AzureOpenAiLlmOptions {
  apiKey: string;
  /** e.g. "https://my-resource.openai.azure.com" */
  endpoint: string;
  deployment: string;
  apiVersion: string;
  temperature?: number;
  maxTokens?: number;
  timeoutMs?: number;
  /** Default "azure-openai/<deployment>". */
  name?: string;
  /** Connection pool; default the process's shared one. */
  http?: HttpPool;
}

export class AzureOpenAiLlm extends OpenAiLlm {
  constructor(o: AzureOpenAiLlmOptions) {
    const http = o.http ?? sharedHttpPool();
    const client = new AzureOpenAI({ apiKey: o.apiKey, endpoint: o.endpoint, deployment: o.deployment, apiVersion: o.apiVersion, maxRetries: 0, timeout: o.timeoutMs ?? 30_000, fetch: http.fetch });
    super({ apiKey: o.apiKey, model: o.deployment, temperature: o.temperature, maxTokens: o.maxTokens, name: o.name ?? `azure-openai/${o.deployment}`, client, http });
  }
}
