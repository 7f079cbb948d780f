/**
 * The closing line of `npm test` and its exit code, decided from how vitest ended and what the count
 * reporter wrote. CI reads the last `N passed, N failed` line, so it must be true in every failure mode:
 * a run that was killed, crashed or failed outside any test case is never a line of zero failures.
 */
import type { TestCounts } from './count-reporter.ts';

/** How the vitest process ended (the fields of spawnSync's result that matter here). */
export type VitestExit = { status: number | null; signal: NodeJS.Signals | null; error?: Error };

export type Verdict = {
  /** Why failures were counted that no test case shows; printed before the line. */
  notes: string[];
  line: string;
  exitCode: 0 | 1;
};

const formatLine = (c: Pick<TestCounts, 'passed' | 'failed' | 'skipped' | 'todo'>) =>
  `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped${c.todo > 0 ? `, ${c.todo} todo` : ''}`;

/** Why vitest did not finish normally, or undefined when it exited with a status. */
const abnormalEnd = (exit: VitestExit): string | undefined => {
  if (exit.error) return `vitest could not be started: ${exit.error.message}`;
  if (exit.signal) return `vitest was killed by ${exit.signal} before it finished`;
  if (exit.status === null) return 'vitest ended without an exit status';
  return undefined;
};

/** `runFailures`: what makes the run fail whatever the tests say (one failure each, e.g. CI without corpus). */
export const verdict = (
  exit: VitestExit,
  counts: TestCounts | undefined,
  runFailures: readonly string[] = [],
): Verdict => {
  const notes = runFailures.map((f) => `failed: ${f}`);
  const ended = abnormalEnd(exit);
  if (ended) notes.push(counts ? ended : `${ended}: no results, counted as 1 failure`);
  else if (!counts) notes.push(`vitest exited with status ${exit.status} and wrote no results (it crashed)`);
  const c = counts ?? { passed: 0, failed: 0, skipped: 0, todo: 0, unfinished: 0, errorsOutsideTests: [] };
  for (const e of c.errorsOutsideTests) notes.push(`failed outside a test: ${e}`);
  if (c.unfinished > 0) notes.push(`${c.unfinished} tests did not finish: counted as skipped`);
  let failed = c.failed + c.errorsOutsideTests.length + runFailures.length;
  const ok = exit.status === 0 && !ended && counts !== undefined && failed === 0;
  if (!ok && failed === 0) {
    if (counts && !ended) notes.push(`vitest exited with status ${exit.status} though no test failed`);
    failed = 1; // the run itself failed: never print "0 failed" for it
  }
  return {
    notes,
    line: formatLine({ ...c, failed, skipped: c.skipped + c.unfinished }),
    exitCode: ok ? 0 : 1,
  };
};
