// Entry point of the call history's store thread from source, in plain JS so Node 20 loads it
// without a loader: it registers tsx in this thread (tsx's --import hook does not reach worker
// threads on Node 20), then imports the TypeScript worker. A compiled build starts worker.js.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
