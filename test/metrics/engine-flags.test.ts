// The bench must measure the engine as `npm start` runs it: same V8 flags. And the engine's
// worker threads must start when the process runs with heap-size flags (a Worker given such
// process-wide flags in its execArgv refuses to start).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_NODE_FLAGS } from '../../bench/load/procs.ts';

describe('engine process flags', () => {
  it('npm start and the bench engine pass the same V8 flags', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    const start = pkg.scripts.start.split(/\s+/);
    expect(start[0]).toBe('tsx');
    expect(start.filter((a) => a.startsWith('--'))).toEqual(ENGINE_NODE_FLAGS);
  });

  it('the embedding pool starts its threads in a process run with heap-size flags', () => {
    const pool = new URL('../../engine/cache/embed-pool.ts', import.meta.url).href;
    const script = `const { EmbedPool } = await import(${JSON.stringify(pool)}); const p = await EmbedPool.start({ kind: 'hashing', dimensions: 64 }, { threads: 1 }); const [v] = await p.embed(['hello there']); console.log('dims', v.length); await p.close();`;
    const file = join(mkdtempSync(join(tmpdir(), 'cfw-flags-')), 'start-pool.mjs');
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, ['--max-old-space-size=512', '--max-semi-space-size=32', '--import', 'tsx', file], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', timeout: 30_000 });
    expect(out.trim()).toBe('dims 64');
  }, 40_000);
});
