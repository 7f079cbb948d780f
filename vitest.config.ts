import { defineConfig } from 'vitest/config';

// `node_modules/.bin/vitest` runs on whatever `node` is first on PATH (Node 20 on CI machines), where files
// using node:sqlite or Node 24 APIs fail to load with confusing errors. npm scripts run on the project's
// Node 24 (the `node` devDependency), so say that before anything else happens.
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 24) {
  console.error(
    `\nvitest is running on Node ${process.version}; this project needs Node 24 (package.json "engines").\n` +
      'Run the tests through npm, which uses the Node 24 that `npm ci` installed:\n' +
      '  npm test                                    (everything)\n' +
      '  npm test -- test/unit/pacing/plan.test.ts    (one file)\n',
  );
  process.exit(1);
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fixture test files that fail on purpose; test/unit/test-runner/run.test.ts runs them with their own config.
    exclude: ['test/fixtures/**', '**/node_modules/**'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests bind real servers on 127.0.0.1; 2-core CI machines prefer few workers.
    maxWorkers: 2,
  },
});
