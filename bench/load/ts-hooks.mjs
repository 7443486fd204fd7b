// Preload (`node --import`) that lets a process AND its worker threads load .ts files.
// tsx's own --import loader registers its hooks on the main thread only on Node 20, so Piscina
// workers (workers/dsp.ts) fail with "Unknown file extension .ts" under `tsx`. Its API's
// register() works in any thread; the benchmark forks the engine with this preload, and
// workers inherit it through execArgv.
import { register } from 'tsx/esm/api';

register();
