// @ts-check
/**
 * Mutation testing (Stryker, https://stryker-mutator.io/docs/stryker-js/configuration/): plants one small bug
 * at a time in lib/ and checks that some test fails. Run it through `npm run mutation -- lib/<folder>`
 * (test/mutation/run.ts), one folder at a time: the machines are 2-core and shared. docs/mutation.md has the
 * scores and the habit.
 */

/** Kept out of every run, whatever the scope (none today). */
const beingRewritten = [];

/** What to mutate: MUTATION_SCOPE (set by test/mutation/run.ts: comma-separated folders or files), else lib/. */
const scope = (process.env.MUTATION_SCOPE || 'lib').split(',').filter(Boolean);
/** @param {string} path */
const globOf = (path) => (path.endsWith('.ts') ? path : `${path.replace(/\/+$/, '')}/**/*.ts`);
/** One name per scope for its reports and its incremental cache: lib/sender → lib-sender. */
const slug = scope
  .join('+')
  .replace(/\.ts$/, '')
  .replace(/[^A-Za-z0-9+]+/g, '-');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: {
    // Unit and property tests only: the integration suites bind servers and spawn processes, too slow to
    // repeat per mutant. `related` runs only the tests that import the mutated file (vitest related mode).
    configFile: 'test/mutation/vitest.config.ts',
    related: true,
  },
  // Per test: a mutant runs only the tests that executed its code in the dry run.
  coverageAnalysis: 'perTest',
  mutate: [...scope.map(globOf), ...beingRewritten.map((f) => `!${f}`)],
  // A static mutant (module-level code: a schema, a regex, a constant table) runs every test that imports the
  // module, not just the ones covering it: in lib/meta/whatsapp, 5% of the mutants were 81% of the time.
  // Ignored by default (reported as such); `-- --ignoreStatic false` includes them.
  ignoreStatic: true,
  // One sandbox at a time: other engineers share the 2 cores. `-c 2` on an idle machine.
  concurrency: 1,
  // Reuse the previous run's verdicts for mutants whose code and tests did not change. The file is local
  // (reports/ is git-ignored): it is a cache keyed by this checkout's tests, and five branches committing
  // one generated JSON would only conflict. One file per scope, so running lib/pacing does not forget
  // lib/sender (Stryker rewrites the file with the mutants of the run alone).
  incremental: true,
  incrementalFile: `reports/mutation/${slug}/incremental.json`,
  // A loaded machine runs tests slower than the dry run measured: a mutant is "timeout" only well past it.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  tempDirName: '.stryker-tmp',
  // Stryker rewrites the tsconfig's `extends`/`references` for the sandbox through TypeScript's JS API,
  // which TypeScript 7 (the native port this project uses) no longer has. Ours has neither to rewrite:
  // point the rewriter at no file (a folder is never a project file), and vitest reads tsconfig.json as is.
  tsconfigFile: '.',
  cleanTempDir: true,
  // What the sandbox copy can leave out (node_modules is linked, not copied).
  ignorePatterns: [
    'bench/results',
    'test/artifacts',
    'reports',
    '.serverless',
    '.esbuild',
    'dist',
    'coverage',
    'docs',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${slug}/mutation.html` },
  jsonReporter: { fileName: `reports/mutation/${slug}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 75, break: null },
};
