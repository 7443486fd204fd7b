// Azure OpenAI chat completions: the same streaming adapter as OpenAI, with the client library's
// AzureOpenAI client (deployment-scoped URL, api-version query, api-key header).
import { AzureOpenAI } from 'openai';
import { OpenAiLlm } from '../openai/llm.ts';

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
}

export class AzureOpenAiLlm extends OpenAiLlm {
  constructor(o: AzureOpenAiLlmOptions) {
    const client = new AzureOpenAI({ apiKey: o.apiKey, endpoint: o.endpoint, deployment: o.deployment, apiVersion: o.apiVersion, maxRetries: 0, timeout: o.timeoutMs ?? 30_000 });
    super({ apiKey: o.apiKey, model: o.deployment, temperature: o.temperature, maxTokens: o.maxTokens, name: o.name ?? `azure-openai/${o.deployment}`, client });
  }
}
