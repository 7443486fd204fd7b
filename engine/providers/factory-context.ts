// The FactoryContext the engine hands each provider factory (adapters/kit/registry.ts): option
// readers whose errors name the setting and its env fallback (an engine config key, or a
// plug-in's own variable read from the environment), and a record of which spec keys the
// factory read, so the registry can warn about the ones it did not (a typo like "temprature").
import { ConfigSchema, type Config } from '../config.ts';
import type { ProviderSpec } from '../workflow.ts';
import { ProviderConfigError, type FactoryContext, type StrOptions } from '../../adapters/kit/registry.ts';
import type { Logger } from '../../adapters/kit/log.ts';
import type { WorkflowScript } from '../../adapters/kit/workflow-script.ts';

export type EngineContext = FactoryContext<Config>;

/** Keys the engine itself reads from any spec (the chain's voice, the hedge prior). */
const ENGINE_KEYS = new Set(['provider', 'voice', 'expectedFirstOutputMs']);

export interface TrackedContext {
  ctx: EngineContext;
  /** Spec keys nothing has read so far. */
  unreadKeys(): string[];
  /** Keys read so far (the factory's own settings among them). */
  readKeys(): string[];
}

export function makeContext(spec: ProviderSpec, workflow: WorkflowScript, config: Config, log: Logger, path: string, env: Record<string, string | undefined> = process.env): TrackedContext {
  const raw = spec as Record<string, unknown>;
  const read = new Set<string>(ENGINE_KEYS);
  // Factories that read `c.spec.someKey` directly count as having read it.
  const tracked = new Proxy(spec, {
    get(target, prop, receiver) {
      if (typeof prop === 'string') read.add(prop);
      return Reflect.get(target, prop, receiver);
    },
  });
  const fallback = (name: string | undefined): string | undefined => {
    if (!name) return undefined;
    const v = name in ConfigSchema.shape ? (config as Record<string, unknown>)[name] : env[name];
    return typeof v === 'string' && v ? v : undefined;
  };
  function str(key: string, o: StrOptions<Config> = {}): string | undefined {
    read.add(key);
    const v = raw[key];
    if (v !== undefined && typeof v !== 'string') throw new ProviderConfigError(`${key} must be a string (${path}.${key})`);
    const value = (v as string | undefined) || fallback(o.env) || o.def;
    if (!value && o.required) throw new ProviderConfigError(`${key} missing: set ${o.env ? `${o.env} or ` : ''}${path}.${key}`);
    return value || undefined;
  }
  const ctx: EngineContext = {
    spec: tracked,
    workflow,
    config,
    log,
    path,
    str: str as EngineContext['str'],
    num(key, o = {}) {
      read.add(key);
      const v = raw[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || (o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) {
        throw new ProviderConfigError(`${key} must be a number${o.min !== undefined ? ` ≥ ${o.min}` : ''}${o.max !== undefined ? ` ≤ ${o.max}` : ''} (${path}.${key}), got ${JSON.stringify(v)}`);
      }
      return v;
    },
    strings(key) {
      read.add(key);
      const v = raw[key];
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x)) throw new ProviderConfigError(`${key} must be an array of strings (${path}.${key})`);
      return v as string[];
    },
    url: ((key: string, protocols: string[], o: { env?: string; required?: boolean } = {}) => {
      const value = str(key, o);
      if (value === undefined) return undefined;
      let u: URL;
      try {
        u = new URL(value);
      } catch {
        throw new ProviderConfigError(`${key} "${value}" is not a valid URL (${o.env ? `${o.env} or ` : ''}${path}.${key})`);
      }
      if (!protocols.includes(u.protocol.replace(':', ''))) throw new ProviderConfigError(`${key} "${value}" must use ${protocols.join(' or ')} (${o.env ? `${o.env} or ` : ''}${path}.${key})`);
      return value;
    }) as EngineContext['url'],
  };
  return { ctx, unreadKeys: () => Object.keys(raw).filter((k) => !read.has(k)), readKeys: () => [...read] };
}

/** The warning for a spec key no one read, with the closest key that was read when it looks like a typo. */
export function unknownKeyWarning(key: string, known: string[], where: string): string {
  const near = known.map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  const hint = near && near.d <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${near.k}"?)` : '';
  return `${where}: unknown setting "${key}" ignored${hint}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
