// Worked example for docs/adapters.md: an LLM adapter for a server that streams its answer as
// newline-delimited JSON, the way Ollama's /api/chat does:
//   POST {baseURL}/api/chat  {"model": "...", "messages": [...], "stream": true}
//   ← {"message":{"role":"assistant","content":"Hel"},"done":false}\n … {"done":true}\n
// It shows the four things every adapter must get right: stream as output arrives, stop at
// once on abort, classify failures as ProviderError kinds, and never emit after an error.
// With `endCallTool`, the model gets an `end_call` tool (Ollama's tools format); when it calls
// it, the adapter marks a chunk `endCall: true` and the engine hangs up once the answer has played.
import { ProviderError, type LlmChunk, type LlmProvider, type LlmRequest } from 'call-flow-weaver';

export interface NdjsonLlmOptions {
  baseURL: string;
  model: string;
  /** Sent as `Authorization: Bearer …` (a hosted or proxied server); Ollama itself needs none. */
  apiKey?: string;
  /** Offer the model an `end_call` tool; calling it ends the call after this answer. */
  endCallTool?: boolean;
  /** Name for health and metrics; default "ndjson/<model>". */
  name?: string;
}

/** The tool offered with `endCallTool` (Ollama's /api/chat `tools` format, as OpenAI's). */
const END_CALL_TOOL = {
  type: 'function',
  function: { name: 'end_call', description: 'Hang up after this answer, once the caller has said goodbye or nothing more is needed.', parameters: { type: 'object', properties: {} } },
};

export class NdjsonLlm implements LlmProvider {
  readonly name: string;

  constructor(private readonly opts: NdjsonLlmOptions) {
    // Validate in the constructor: the registry builds adapters at startup, so a bad option
    // stops the engine with a clear message instead of failing a live call.
    if (!/^https?:\/\//.test(opts.baseURL ?? '')) throw new Error(`baseURL must be an http(s) URL, got "${opts.baseURL}"`);
    if (!opts.model) throw new Error('model is required');
    this.name = opts.name ?? `ndjson/${opts.model}`;
  }

  async *stream(req: LlmRequest): AsyncGenerator<LlmChunk> {
    const { signal } = req;
    if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted before start');
    let res: Response;
    try {
      res = await fetch(new URL('/api/chat', this.opts.baseURL), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}) },
        body: JSON.stringify({ model: this.opts.model, messages: req.messages, stream: true, ...(this.opts.endCallTool ? { tools: [END_CALL_TOOL] } : {}) }),
        signal, // abort closes the connection: the server stops generating
      });
    } catch (e) {
      throw this.classify(e, signal);
    }
    if (!res.ok || !res.body) {
      const kind = res.status === 401 || res.status === 403 ? 'auth' : res.status === 429 ? 'rate_limited' : res.status >= 500 ? 'server' : 'bad_request';
      const retry = Number(res.headers.get('retry-after'));
      throw new ProviderError(this.name, kind, `HTTP ${res.status}`, Number.isFinite(retry) && retry > 0 ? retry * 1000 : undefined);
    }
    const decoder = new TextDecoder();
    let buf = '';
    let done = false;
    try {
      for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(bytes, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let msg: { message?: { content?: string; tool_calls?: Array<{ function?: { name?: string } }> }; done?: boolean; error?: string };
          try {
            msg = JSON.parse(line);
          } catch {
            throw new ProviderError(this.name, 'server', `malformed stream line: ${line.slice(0, 80)}`);
          }
          if (msg.error) throw new ProviderError(this.name, 'server', msg.error);
          // Lines already buffered must not leak out after an abort.
          if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted');
          if (msg.message?.content) yield { text: msg.message.content };
          // An empty chunk that only carries the flag is fine: the engine reads endCall from any chunk.
          if (msg.message?.tool_calls?.some((t) => t.function?.name === 'end_call')) yield { text: '', endCall: true };
          if (msg.done) done = true;
        }
      }
    } catch (e) {
      throw this.classify(e, signal);
    }
    if (signal.aborted) throw new ProviderError(this.name, 'aborted', 'aborted');
    // A stream that ends without its "done" line was cut off: the chain will fail over.
    if (!done) throw new ProviderError(this.name, 'server', 'stream ended before "done"');
  }

  private classify(e: unknown, signal: AbortSignal): ProviderError {
    if (e instanceof ProviderError) return e;
    if (signal.aborted) return new ProviderError(this.name, 'aborted', 'aborted', undefined, { cause: e });
    return new ProviderError(this.name, 'server', (e as Error).message ?? String(e), undefined, { cause: e });
  }
}
