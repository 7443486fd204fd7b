// Starts a real engine (uWebSockets.js server, DSP worker pool, local providers) on a free
// loopback port for end-to-end tests.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../engine/config.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { loadPlugins } from '../../engine/plugins.ts';
import { startServer, type Server } from '../../engine/server.ts';
import { routeGroups } from '../../engine/routes.ts';
import type { Workflow } from '../../engine/workflow.ts';
import type { Providers } from '../../engine/providers/registry.ts';

export interface TestEngine {
  engine: Engine;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

export async function startTestEngine(overrides: Partial<Record<keyof Config, unknown>> = {}, opts: { providers?: (wf: Workflow) => Providers } = {}): Promise<TestEngine> {
  const config = loadConfig({}, { PORT: 0, HOST: '127.0.0.1', DSP_THREADS: 1, CACHE_DIR: mkdtempSync(join(tmpdir(), 'weaver-cache-')), HISTORY_PATH: join(mkdtempSync(join(tmpdir(), 'weaver-history-')), 'history.sqlite'), SHUTDOWN_GRACE_MS: 0, ...overrides });
  await loadPlugins(config.WEAVER_PLUGINS);
  const engine = await createEngine(config, opts);
  const server = await startServer(engine, routeGroups);
  return { engine, server, url: `http://127.0.0.1:${server.port}`, stop: () => server.shutdown(0) };
}

export const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/audio/${name}`, import.meta.url)));

export const labels = (name: string): Array<{ startMs: number; endMs: number }> =>
  JSON.parse(readFileSync(new URL(`../fixtures/audio/${name}.labels.json`, import.meta.url), 'utf8')).speech;

/** Waits until `cond` holds, polling; throws with `what` after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
