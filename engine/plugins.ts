// WEAVER_PLUGINS: modules that register adapters (registerProvider) loaded before any workflow's
// providers are built. Paths are relative to the working directory; TypeScript works because
// the engine runs under tsx. A plug-in that cannot be loaded stops startup with its name.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registeredProviders, type Role } from '../adapters/kit/registry.ts';
import type { Logger } from './log.ts';

const ROLES: Role[] = ['stt', 'llm', 'tts'];

const snapshot = () => new Map(ROLES.map((r) => [r, new Set(registeredProviders(r))]));

/** Imports each plug-in in order; resolves with what each one registered. */
export async function loadPlugins(paths: string[], opts: { cwd?: string; log?: Logger } = {}): Promise<Array<{ path: string; registered: string[] }>> {
  const out: Array<{ path: string; registered: string[] }> = [];
  for (const p of paths) {
    const file = isAbsolute(p) ? p : resolve(opts.cwd ?? process.cwd(), p);
    const before = snapshot();
    try {
      await import(pathToFileURL(file).href);
    } catch (e) {
      throw new Error(`WEAVER_PLUGINS: cannot load plug-in "${p}" (${file}): ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    // New names only: a plug-in replacing a built-in under the same name is not told apart here.
    const registered = ROLES.flatMap((r) => registeredProviders(r).filter((n) => !before.get(r)!.has(n)).map((n) => `${r}:${n}`));
    opts.log?.info({ plugin: p, registered }, 'plug-in loaded');
    out.push({ path: p, registered });
  }
  return out;
}
