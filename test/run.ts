/**
 * `npm test`: runs vitest with the default and JSON reporters, then prints the plain closing line
 * `N passed, N failed` that CI reads. Extra arguments go to vitest (e.g. `npm test -- test/plan.test.ts`).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const artifacts = join(import.meta.dirname, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const resultsFile = join(artifacts, 'vitest-results.json');

const run = spawnSync(
  process.execPath,
  [
    join(import.meta.dirname, '..', 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${resultsFile}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);

type Results = { numPassedTests: number; numFailedTests: number; numPendingTests: number };
let summary = 'vitest wrote no results';
let failedToReport = true;
try {
  const r = JSON.parse(readFileSync(resultsFile, 'utf8')) as Results;
  summary = `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`;
  failedToReport = false;
} catch {
  // fall through: the exit code below still tells CI the run failed
}
console.log(summary);
process.exit(run.status ?? (failedToReport ? 1 : 0));
