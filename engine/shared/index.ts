// Scale-out on Redis (REDIS_URL): the response cache, the call registry and provider health shared
// between engine instances. Built by the composition root (engine.ts) when REDIS_URL is set;
// without it nothing here runs and the engine is alone, as before. Redis is never on the audio
// path: calls read their local cache and registry; writes go out in the background.
//
// Keys (all under REDIS_KEY_PREFIX, default "weaver:"):
//   cache:log                       stream: learned entries and aliases ({t:put}), audio notices ({t:audio})
//   cache:audio:<entry>:<voice>     μ-law bytes of an entry's answer (TTL CACHE_TTL_S)
//   cache:learn:<sha1>              how many times a question was answered across instances (TTL CACHE_TTL_S)
//   call:<sid>                      hash: owner, mode, workflow, state, outcome, direction, to, from, status (TTL REDIS_CALL_TTL_S)
//   call:<sid>:events               list: status, stream and handoff callbacks, as JSON (same TTL)
//   call:<sid>:turns                list: turn summaries, as JSON (same TTL)
//   breaker:<provider>              the last breaker opening (TTL BREAKER_COOLDOWN_MS); channel `breakers` announces it
//   instance:<id>                   heartbeat (TTL 10 s); set `instances` names them
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ResponseCache } from '../cache/index.ts';
import type { CallRegistry } from '../calls/registry.ts';
import type { ProviderHealth } from '../providers/health.ts';
import { RedisLink } from './redis-link.ts';
import { SharedCache } from './shared-cache.ts';
import { SharedCalls, type SharedCallSource } from './shared-calls.ts';
import { SharedHealth } from './shared-health.ts';

export { SharedCache, SharedCalls, SharedHealth, RedisLink };

export interface SharedDeps {
  log: Logger;
  cache?: ResponseCache;
  registry: CallRegistry;
  health: ProviderHealth;
  /** This instance's calls and status, for the heartbeat. */
  local: () => { calls: number; status: string };
}

export interface Shared {
  readonly instance: string;
  readonly link: RedisLink;
  readonly cache?: SharedCache;
  readonly calls: SharedCalls;
  readonly providers: SharedHealth;
  /** True while Redis is unreachable: /health says degraded; calls go on with local state. */
  readonly degraded: boolean;
  /** Follows a call: owner, state, turn summaries. */
  attach(call: SharedCallSource): void;
  health(): object;
  close(): Promise<void>;
}

/** This instance's name: INSTANCE_ID (or the host name), with the process id when several share a machine. */
export function instanceName(cfg: Config): string {
  const base = cfg.INSTANCE_ID ?? hostname();
  return cfg.WEAVER_PROCESSES > 1 || process.env.WEAVER_WORKER_INDEX !== undefined ? `${base}/${process.pid}` : base;
}

/** Connects (without waiting long: a Redis that is down leaves the engine on local state) and starts sharing. */
export async function openShared(cfg: Config, deps: SharedDeps): Promise<Shared | undefined> {
  if (!cfg.REDIS_URL) return undefined;
  const log = deps.log;
  const instance = instanceName(cfg);
  const link = new RedisLink({ url: cfg.REDIS_URL, prefix: cfg.REDIS_KEY_PREFIX, commandTimeoutMs: cfg.REDIS_COMMAND_TIMEOUT_MS, writeQueueMax: cfg.REDIS_WRITE_QUEUE_MAX, log });
  const up = await link.connect();
  // A boot id in cache records, so a restarted instance applies what it wrote before its restart.
  const cache = deps.cache ? new SharedCache(deps.cache, link, cfg, `${instance}#${randomBytes(4).toString('hex')}`, log) : undefined;
  const calls = new SharedCalls(link, cfg, instance, log.child({ component: 'shared-calls' }));
  calls.follow(deps.registry);
  const providers = new SharedHealth(link, cfg, deps.health, instance, log.child({ component: 'shared-health' }), deps.local);
  await providers.start();
  cache?.start();
  // Wait briefly for the cache backlog, so an instance that starts serves what the others learned.
  if (cache && up) await Promise.race([cache.caughtUp, new Promise((r) => setTimeout(r, 5000).unref())]);
  log.info({ instance, redis: link.status, prefix: cfg.REDIS_KEY_PREFIX }, 'sharing cache, calls and provider health through Redis');
  return {
    instance,
    link,
    cache,
    calls,
    providers,
    get degraded() {
      return link.degraded;
    },
    attach: (call) => calls.attach(call),
    health: () => ({ instance, redis: link.health(), cache: cache?.stats(), breakers: providers.counters, instances: providers.cluster() }),
    async close() {
      providers.stop();
      await cache?.close();
      await link.close();
    },
  };
}
