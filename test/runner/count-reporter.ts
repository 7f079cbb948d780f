/**
 * The vitest reporter behind `npm test`'s closing line (see run.ts): counts what ran and writes it to
 * `$ELLIPSIS_TEST_COUNTS` when the run ends. Unlike vitest's JSON report it also counts the failures no
 * test case carries: a file that failed to import, a failing beforeAll/afterAll, an unhandled error.
 */
import { writeFileSync } from 'node:fs';
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';

export type TestCounts = {
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
  /** Tests collected but never finished (an interrupted run). */
  unfinished: number;
  /** One line per failure outside a test case: `<where>: <message>`. */
  errorsOutsideTests: string[];
  reason: TestRunEndReason;
};

const firstLine = (e: SerializedError) => (e.message ?? String(e)).split('\n')[0];

/** Import and collection errors of each file, and hook errors of each file and suite. */
const errorsOutsideTests = (modules: readonly TestModule[], unhandled: readonly SerializedError[]) => {
  const lines: string[] = [];
  for (const module of modules) {
    for (const e of module.errors()) lines.push(`${module.relativeModuleId}: ${firstLine(e)}`);
    for (const suite of module.children.allSuites())
      for (const e of suite.errors())
        lines.push(`${module.relativeModuleId} > ${suite.fullName}: ${firstLine(e)}`);
  }
  for (const e of unhandled) lines.push(`unhandled error: ${firstLine(e)}`);
  return lines;
};

export const countTests = (
  modules: readonly TestModule[],
  unhandled: readonly SerializedError[],
  reason: TestRunEndReason,
): TestCounts => {
  const counts: TestCounts = {
    passed: 0,
    failed: 0,
    skipped: 0,
    todo: 0,
    unfinished: 0,
    errorsOutsideTests: errorsOutsideTests(modules, unhandled),
    reason,
  };
  for (const module of modules)
    for (const test of module.children.allTests()) {
      const { state } = test.result();
      if (state === 'passed') counts.passed += 1;
      else if (state === 'failed') counts.failed += 1;
      else if (state === 'pending') counts.unfinished += 1;
      else if (test.options.mode === 'todo') counts.todo += 1;
      else counts.skipped += 1;
    }
  return counts;
};

/** A class because vitest loads a reporter file's default export with `new`. */
export default class CountReporter implements Reporter {
  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandled: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ) {
    const file = process.env.ELLIPSIS_TEST_COUNTS;
    if (file) writeFileSync(file, JSON.stringify(countTests(modules, unhandled, reason)));
  }
}
