// Plugging the example adapter into the engine: after this module is imported (before the
// engine builds its providers), workflows can name it in a chain:
//   "providers": { "llm": [ { "provider": "ndjson", "baseURL": "http://127.0.0.1:11434", "model": "llama3.2" },
//                           { "provider": "workflow" } ] }
// Load it with WEAVER_PLUGINS=docs/example-adapter/register.ts. Everything comes from the package
// entry, `call-flow-weaver` (inside this repository the name resolves to adapters/index.ts):
// a plug-in never imports the engine.
import { registerProvider } from 'call-flow-weaver';
import { NdjsonLlm } from './ndjson-llm.ts';

registerProvider('llm', 'ndjson', (c) =>
  new NdjsonLlm({
    // The context's helpers give errors that name the setting: "llm[0] ndjson: baseURL missing: set providers.llm[0].baseURL".
    baseURL: c.url('baseURL', ['http', 'https'], { required: true }),
    model: c.str('model', { required: true }),
    // `env` may name the plug-in's own variable, read from the environment (and named in errors).
    apiKey: c.str('apiKey', { env: 'NDJSON_API_KEY' }),
    endCallTool: c.spec.endCallTool === true,
    name: c.str('name'),
  }),
);
