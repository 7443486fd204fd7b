// The bench must measure the engine as `npm start` runs it: same V8 flags.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { ENGINE_NODE_FLAGS } from '../../bench/load/procs.ts';

describe('engine process flags', () => {
  it('npm start and the bench engine pass the same V8 flags', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    const start = pkg.scripts.start.split(/\s+/);
    expect(start[0]).toBe('tsx');
    expect(start.filter((a) => a.startsWith('--'))).toEqual(ENGINE_NODE_FLAGS);
  });
});
