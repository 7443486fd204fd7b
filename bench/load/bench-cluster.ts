// The load bench's engine when WEAVER_PROCESSES > 1 (`npm run bench -- --engine-env WEAVER_PROCESSES=2`):
// the supervisor of engine/cluster/ running bench-engine.ts in each process, all on one port.
// Reports {type:'ready', pid, pids, port, …} over IPC once every process listens; stops on
// {type:'stop'} or SIGTERM (each process drains with SHUTDOWN_GRACE_MS=0, as the bench's single engine does).
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../engine/config.ts';
import { log } from '../../engine/log.ts';
import { supervise } from '../../engine/cluster/supervisor.ts';

const env = process.env;
const config = loadConfig(env, { HOST: '127.0.0.1', PORT: 0, SHUTDOWN_GRACE_MS: 0 });
await supervise(config, log, {
  exec: fileURLToPath(new URL('./bench-engine.ts', import.meta.url)),
  onReady: (port, pids) =>
    process.send?.({
      type: 'ready',
      pid: process.pid,
      pids,
      port,
      mediaPort: port,
      transport: env.BENCH_TRANSPORT ?? 'uws',
      dsp: env.BENCH_DSP ?? 'pool',
      hedging: (env.BENCH_HEDGING ?? 'on') !== 'off',
      denoise: config.DSP_DENOISE,
      cache: config.PERFORMANCE_CACHE_ENABLED,
      processes: config.WEAVER_PROCESSES,
      dspThreads: Number(env.DSP_THREADS ?? 0) || Math.max(1, Math.floor(availableParallelism() / config.WEAVER_PROCESSES)),
    }),
});
process.on('message', (m: { type?: string }) => m?.type === 'stop' && process.kill(process.pid, 'SIGTERM'));
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
