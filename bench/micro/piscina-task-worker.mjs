// Worker for piscina-task.bench.ts: answers a DSP-shaped task with a result buffer of the size a
// DSP batch returns, moved (transferred), doing no DSP: what is left is Piscina's cost per task.
import { move } from 'piscina';

export default function task(t) {
  return move(new ArrayBuffer(8 + t.ulaw.length * 2 + t.ids.length * 13));
}
