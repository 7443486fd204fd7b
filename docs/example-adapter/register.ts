// Plugging the example adapter into the engine: after this module is imported (before the
// engine builds its providers), workflows can name it in a chain:
//   "providers": { "llm": [ { "provider": "ndjson", "baseURL": "http://127.0.0.1:11434", "model": "llama3.2" },
//                           { "provider": "workflow" } ] }
// The package entry (`call-flow-weaver` when installed): a plug-in never imports the engine.
import { registerProvider } from '../../adapters/index.ts';
import { NdjsonLlm } from './ndjson-llm.ts';

registerProvider('llm', 'ndjson', (c) =>
  new NdjsonLlm({
    // The context's helpers give errors that name the setting: "llm[0] ndjson: baseURL missing: set providers.llm[0].baseURL".
    baseURL: c.url('baseURL', ['http', 'https'], { required: true })!,
    model: c.str('model', { required: true })!,
    name: c.str('name'),
  }),
);
