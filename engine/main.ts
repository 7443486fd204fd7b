// `npm start`: load and validate config, build the engine, serve, and shut down gracefully.
import { loadConfig } from './config.ts';
import { createEngine } from './engine.ts';
import { loadPlugins } from './plugins.ts';
import { startServer } from './server.ts';
import { routeGroups } from './routes.ts';
import { log } from './log.ts';
import { securityWarnings } from './twilio/signature.ts';
import { shouldSupervise, supervise } from './cluster/supervisor.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    log.fatal((e as Error).message);
    process.exit(2);
  }
  if (shouldSupervise(config)) return supervise(config, log); // WEAVER_PROCESSES > 1: this process only supervises
  try {
    await loadPlugins(config.WEAVER_PLUGINS, { log }); // before createEngine builds the providers
  } catch (e) {
    log.fatal((e as Error).message);
    process.exit(2);
  }
  const engine = await createEngine(config);
  for (const w of securityWarnings(config)) log.warn(w); // e.g. no TWILIO_AUTH_TOKEN: requests are not verified
  const server = await startServer(engine, routeGroups);
  engine.cluster?.ready(server.port, () => ({ status: engine.live.status(), calls: engine.calls.size }));
  log.info({ url: `http://localhost:${server.port}`, workflows: [...engine.workflows.keys()], defaultWorkflow: config.DEFAULT_WORKFLOW, denoise: config.DSP_DENOISE, dspThreads: config.DSP_THREADS }, 'Call Flow Weaver ready');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received');
    server.shutdown(config.SHUTDOWN_GRACE_MS).then(
      () => process.exit(0),
      (e) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e) => {
  log.fatal({ err: e }, `failed to start: ${(e as Error).message}`);
  process.exit(1);
});
