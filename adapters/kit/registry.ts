// The provider registry's plug-in surface: adapters register a factory by role and name here,
// and the engine builds each workflow's chains from this table (engine/providers/registry.ts).
// It lives in the kit so a plug-in registers without importing the engine.
import type { Logger } from './log.ts';
import type { LlmProvider, SttProvider, TtsProvider } from './types.ts';
import type { WorkflowScript } from './workflow-script.ts';

export interface Providers {
  stt: SttProvider;
  llm: LlmProvider;
  tts: TtsProvider;
}
export type Role = keyof Providers;

/** One entry of a workflow's chain: the adapter's registered name and its own fields. */
export type ProviderSpec = { provider: string; [key: string]: unknown };

/** Thrown by factories for a bad spec; the registry prefixes where it was found. */
export class ProviderConfigError extends Error {}

/** The engine's settings as a factory sees them; the engine passes its typed config. */
export type Settings = Readonly<Record<string, unknown>>;

/**
 * An environment variable to fall back to: one of the engine's config keys (read from its
 * validated config) or any other name, e.g. a plug-in's own "MURMUR_API_KEY" (read from the
 * process environment). Either way, error messages name it.
 */
export type EnvName<C extends object> = (keyof C & string) | (string & {});

export interface StrOptions<C extends object> {
  env?: EnvName<C>;
  required?: boolean;
  def?: string;
}

/**
 * What a factory gets: the spec, its workflow, a logger, and helpers that read options with
 * clear errors. Spec keys the factory never reads (through these helpers or `spec`) are logged
 * as warnings naming the key, so a typo such as "temprature" does not pass silently.
 */
export interface FactoryContext<C extends object = Settings> {
  spec: ProviderSpec;
  workflow: WorkflowScript;
  config: C;
  /** Pass it to the adapter: the engine's logger for this workflow. */
  log: Logger;
  /** Where the spec came from, for messages: "providers.llm[0]" or "WEAVER_LLM_CHAIN[0]". */
  path: string;
  /** A string option, falling back to `env` then `def`; missing + required → a clear error. */
  str(key: string, opts: StrOptions<C> & ({ required: true } | { def: string })): string;
  str(key: string, opts?: StrOptions<C>): string | undefined;
  num(key: string, opts?: { min?: number; max?: number }): number | undefined;
  strings(key: string): string[] | undefined;
  /** A URL option (or env fallback) whose protocol is one of `protocols`. */
  url(key: string, protocols: string[], opts: { env?: EnvName<C>; required: true }): string;
  url(key: string, protocols: string[], opts?: { env?: EnvName<C>; required?: boolean }): string | undefined;
}

export type ProviderFactory<R extends Role, C extends object = Settings> = (ctx: FactoryContext<C>) => Providers[R];

// Each factory is stored with its own config type; the engine calls it with its config.
const factories: { [R in Role]: Map<string, ProviderFactory<R, any>> } = { stt: new Map(), llm: new Map(), tts: new Map() };

/** Adds (or replaces) an adapter under `name` for `role`. */
export function registerProvider<R extends Role, C extends object = Settings>(role: R, name: string, factory: ProviderFactory<R, C>): void {
  if (!(role in factories)) throw new Error(`registerProvider: role must be stt, llm or tts, got "${role}"`);
  if (!name) throw new Error('registerProvider: name is required');
  factories[role].set(name, factory);
}

export function registeredProviders(role: Role): string[] {
  return [...factories[role].keys()].sort();
}

/** The factory registered under `name` for `role`, if any. */
export function providerFactory<R extends Role>(role: R, name: string): ProviderFactory<R, any> | undefined {
  return factories[role].get(name);
}
