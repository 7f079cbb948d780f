/**
 * `npm test`: runs vitest (on this Node, the project's Node 24) with the default reporter and the count
 * reporter, then prints the plain closing line `N passed, N failed, N skipped` (`, N todo` when there are
 * any) that CI reads, alone on the last line. Extra arguments go to vitest
 * (e.g. `npm test -- test/unit/pacing/plan.test.ts`). What the line counts: runner/closing-line.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { verdict } from './runner/closing-line.ts';
import type { TestCounts } from './runner/count-reporter.ts';
import { corpusDir, hasCorpus } from './support/corpus.ts';

const countsFile =
  process.env.ELLIPSIS_TEST_COUNTS ?? join(import.meta.dirname, 'artifacts', 'test-counts.json');
mkdirSync(dirname(countsFile), { recursive: true });
// A previous run's counts must never stand in for a run that did not finish.
rmSync(countsFile, { force: true });

// CI always has the shared corpus; without it the corpus suites would only be skipped.
const runFailures =
  process.env.CI === 'true' && !hasCorpus ? [`CI=true but the shared corpus is missing (${corpusDir})`] : [];
for (const f of runFailures) console.error(`npm test: ${f}: this run fails`);

const run = spawnSync(
  process.execPath,
  [
    join(import.meta.dirname, '..', 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--reporter=default',
    `--reporter=${join(import.meta.dirname, 'runner', 'count-reporter.ts')}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', env: { ...process.env, ELLIPSIS_TEST_COUNTS: countsFile } },
);

const readCounts = (): TestCounts | undefined => {
  try {
    return JSON.parse(readFileSync(countsFile, 'utf8')) as TestCounts;
  } catch {
    return undefined; // vitest did not get to the end of the run
  }
};

const { notes, line, exitCode } = verdict(run, readCounts(), runFailures);
for (const note of notes) console.log(`npm test: ${note}`);
console.log(line);
process.exit(exitCode);
