// The layer rules in .dependency-cruiser.cjs (run by `npm test` as lint:deps) must fire: each
// is cruised over a throwaway tree with one wrong import (or cycle) laid out like the project,
// with the real configuration, so a rule that stops matching (a typo in a path pattern, a
// dropped option such as tsPreCompilationDeps) fails here instead of passing silently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

const CONFIG = fileURLToPath(new URL('../../.dependency-cruiser.cjs', import.meta.url));

const TREE: Record<string, string> = {
  'engine/log.ts': 'export const log = {};\n',
  'engine/engine.ts': "import './calls.ts';\nexport const engine = 1;\n",
  'engine/calls.ts': "import { engine } from './engine.ts';\nexport const calls = engine;\n",
  'adapters/audio.ts': 'export const audio = 1;\n',
  'adapters/kit/types.ts': "import { readFileSync } from 'node:fs';\nexport type Ulaw = Uint8Array;\nexport const read = readFileSync;\n",
  'adapters/kit/reaches-up.ts': "import { audio } from '../audio.ts';\nexport const x = audio;\n",
  'adapters/local/good.ts': "import type { Ulaw } from '../kit/types.ts';\nimport { audio } from '../audio.ts';\nexport const u: Ulaw | number = audio;\n",
  'adapters/local/uses-engine-log.ts': "import { log } from '../../engine/log.ts';\nexport const l = log;\n",
  'adapters/local/ping.ts': "import { pong } from './pong.ts';\nexport const ping = () => pong;\n",
  'adapters/local/pong.ts': "import { ping } from './ping.ts';\nexport const pong = () => ping;\n",
  'workers/good.ts': "import type { Ulaw } from '../adapters/kit/types.ts';\nexport const w: Ulaw | null = null;\n",
  'workers/types-from-adapter.ts': "import type { Ulaw } from '../adapters/local/good.ts';\nexport const w: Ulaw | null = null;\n",
};

let dir: string;
let result: ICruiseResult;
/** rule name → "from → to" of each violation */
const found = (rule: string) => result.summary.violations.filter((v) => v.rule.name === rule).map((v) => `${v.from} → ${v.to}`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cfw-layers-'));
  for (const [path, text] of Object.entries(TREE)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }));
  const options = await extractDepcruiseOptions(CONFIG);
  const out = await cruise(['engine', 'adapters', 'workers'], { ...options, baseDir: dir, outputType: 'json' });
  result = JSON.parse(out.output as string) as ICruiseResult;
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dependency rules (.dependency-cruiser.cjs)', () => {
  it('the kit imports only itself (and packages, Node built-ins)', () => {
    expect(found('kit-imports-nothing')).toEqual(['adapters/kit/reaches-up.ts → adapters/audio.ts']);
  });

  it('adapters do not import the engine', () => {
    expect(found('adapters-not-engine-or-workers')).toEqual(['adapters/local/uses-engine-log.ts → engine/log.ts']);
  });

  it('workers import only the kit, type-only imports included', () => {
    expect(found('workers-only-kit')).toEqual(['workers/types-from-adapter.ts → adapters/local/good.ts']);
  });

  it('an import cycle is an error, wherever it is', () => {
    const errors = found('no-circular');
    // dependency-cruiser reports a cycle once, from whichever of its modules it meets first
    expect(errors.filter((e) => e.includes('/ping.ts') || e.includes('/pong.ts'))).toHaveLength(1);
    expect(errors.filter((e) => e.includes('engine/calls.ts') || e.includes('engine/engine.ts'))).toHaveLength(1);
  });

  it('a module that imports only what its layer allows passes', () => {
    const clean = ['adapters/local/good.ts', 'workers/good.ts', 'adapters/kit/types.ts'];
    expect(result.summary.violations.filter((v) => clean.includes(v.from))).toEqual([]);
    expect(result.summary.error).toBe(5);
  });
});
