// The engine as the load benchmarks run it: a separate process (forked by bench/run.ts), the
// real engine and routes on loopback, the demo workflow with SIMULATED providers
// (sim-providers.ts), and the variant under test chosen by environment:
//   BENCH_TRANSPORT  uws (default) | ws      media socket library (ws-transport.ts)
//   BENCH_DSP        pool (default) | inline  DSP in the Piscina shards or on the main thread
//   BENCH_HEDGING    on (default) | off       LLM chain of two simulated providers, or one
//   BENCH_SIM_PROFILE JSON overriding the simulated latency profile (sim-providers.ts)
// plus every engine setting (DSP_DENOISE, PERFORMANCE_CACHE_ENABLED, DSP_THREADS, …).
// Reports {type:'ready', port, mediaPort} over IPC; stops on {type:'stop'} or SIGTERM.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../engine/config.ts';
import { createEngine } from '../../engine/engine.ts';
import { startServer } from '../../engine/server.ts';
import { routeGroups } from '../../engine/routes.ts';
import { log } from '../../engine/log.ts';
import { parseProfile, registerSimProviders } from './sim-providers.ts';
import { createInlineDsp } from './inline-dsp.ts';
import { startWsMediaServer } from './ws-transport.ts';

const env = process.env;
const transport = env.BENCH_TRANSPORT ?? 'uws';
const dspMode = env.BENCH_DSP ?? 'pool';
const hedging = (env.BENCH_HEDGING ?? 'on') !== 'off';
if (!['uws', 'ws'].includes(transport)) throw new Error(`BENCH_TRANSPORT must be uws or ws, got ${transport}`);
if (!['pool', 'inline'].includes(dspMode)) throw new Error(`BENCH_DSP must be pool or inline, got ${dspMode}`);

registerSimProviders(parseProfile(env.BENCH_SIM_PROFILE));

// The demo workflow, its providers swapped for the simulated ones.
const demo = JSON.parse(readFileSync(new URL('../../engine/workflows/demo.json', import.meta.url), 'utf8'));
demo.providers = {
  stt: [{ provider: 'sim-stt' }],
  llm: hedging ? [{ provider: 'sim-llm', name: 'a' }, { provider: 'sim-llm', name: 'b' }] : [{ provider: 'sim-llm', name: 'a' }],
  tts: [{ provider: 'sim-tts' }],
};
const dir = mkdtempSync(join(tmpdir(), 'weaver-bench-'));
writeFileSync(join(dir, 'demo.json'), JSON.stringify(demo));
// The ConversationRelay demo (Twilio does STT/TTS there): only its LLM is simulated.
const relay = JSON.parse(readFileSync(new URL('../../engine/workflows/demo-relay.json', import.meta.url), 'utf8'));
relay.providers = { ...relay.providers, llm: demo.providers.llm };
writeFileSync(join(dir, 'demo-relay.json'), JSON.stringify(relay));

const config = loadConfig(env, {
  HOST: '127.0.0.1',
  PORT: env.WEAVER_WORKER_INDEX === undefined ? 0 : Number(env.PORT), // under bench-cluster.ts: the port the processes share
  WORKFLOWS_DIR: dir,
  DEFAULT_WORKFLOW: 'demo',
  CACHE_DIR: mkdtempSync(join(tmpdir(), 'weaver-bench-cache-')),
  CACHE_EMBEDDING_BACKEND: env.CACHE_EMBEDDING_BACKEND ?? 'hashing',
  SHUTDOWN_GRACE_MS: 0,
  PERFORMANCE_FAILOVER_ENABLED: true,
});
const dsp = dspMode === 'inline' ? await createInlineDsp({ denoise: config.DSP_DENOISE, vadMode: config.DSP_VAD_MODE as 0 | 1 | 2 | 3 }, log) : undefined;
const engine = await createEngine(config, { dsp });
const server = await startServer(engine, routeGroups);
const ws = transport === 'ws' ? await startWsMediaServer(engine) : undefined;
engine.cluster?.ready(server.port, () => ({ status: engine.live.status(), calls: engine.calls.size })); // one of bench-cluster.ts's processes

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await ws?.close();
  await server.shutdown(0);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());

const ready = { type: 'ready', pid: process.pid, port: server.port, mediaPort: ws?.port ?? server.port, transport, dsp: dspMode, hedging, denoise: config.DSP_DENOISE, cache: config.PERFORMANCE_CACHE_ENABLED, dspThreads: dspMode === 'inline' ? 0 : config.DSP_THREADS };
if (process.send) process.send(ready);
else console.log(JSON.stringify(ready));
