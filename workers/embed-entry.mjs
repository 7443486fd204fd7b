// Piscina entry point of the embedding worker from source, in plain JS so Node 20 loads it
// without a loader: it registers tsx in this thread, then imports the TypeScript worker (whose
// backend module, also .ts, is import()ed through the same hook).
import { register } from 'tsx/esm/api';

register();
const { default: embed } = await import('./embed.ts');

export default embed;
