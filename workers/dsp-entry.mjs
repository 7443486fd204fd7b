// Piscina entry point of the DSP worker, in plain JS so Node 20 can load it without a loader.
// tsx's --import hook registers itself on the main thread only (Node 20), so a worker thread
// registers tsx itself before importing the TypeScript worker module.
import { register } from 'tsx/esm/api';

register();
const { default: processTask } = await import('./dsp.ts');

export default processTask;
