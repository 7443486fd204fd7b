// Layers import only downward (README, Layout): adapters/kit is the bottom and imports nothing
// of the project; adapters/ and workers/ build on the kit only; engine/ composes them all.
// `npm test` runs it (npm run lint:deps); test/layers/ proves each rule fires.

const NODE = { dependencyTypesNot: ['core'] };

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle couples modules both ways; break it with a narrower module or an injected dependency.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'kit-imports-nothing',
      severity: 'error',
      comment: 'adapters/kit is the contracts layer: it imports only itself, packages and Node built-ins.',
      from: { path: '^adapters/kit/' },
      to: { pathNot: ['^adapters/kit/', '(^|/)node_modules/'], ...NODE },
    },
    {
      name: 'adapters-not-engine-or-workers',
      severity: 'error',
      comment: 'Adapters get what they need from the kit (contracts, logger, μ-law) or through their constructors.',
      from: { path: '^adapters/' },
      to: { path: '^(engine|workers|bench|test|docs)/' },
    },
    {
      name: 'workers-only-kit',
      severity: 'error',
      comment: 'Worker threads import only workers/ and the kit; an adapter module is named in workerData and import()ed.',
      from: { path: '^workers/' },
      to: { pathNot: ['^workers/', '^adapters/kit/', '(^|/)node_modules/'], ...NODE },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing: a typo, or a path left behind by a move.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], mainFields: ['module', 'main'] },
  },
};
