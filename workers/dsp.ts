// The DSP worker (one Piscina thread per shard). It keeps every call's DSP state for the calls
// pinned to its shard, creates it on first sight of a callId, frees it when a task says so,
// and answers each batch with one transferred buffer (see dsp-core.ts for the layout).
import { move } from 'piscina';
import { DspCore, loadDsp, type DspTask } from './dsp-core.ts';

await loadDsp();
const core = new DspCore();

/** Resolves to the result ArrayBuffer, wrapped by move() so it is transferred, not cloned. */
export default function processTask(task: DspTask): unknown {
  if (task.crash === 'exit') process.exit(1); // test-only: ends this thread, not the process
  if (task.crash === 'throw') {
    // test-only: an uncaught exception outside the task kills the thread like a real fault
    setImmediate(() => {
      throw new Error('injected DSP worker fault');
    });
    return new Promise<never>(() => {});
  }
  return move(core.processBatch(task));
}
