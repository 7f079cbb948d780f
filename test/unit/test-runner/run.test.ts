/**
 * `npm test`'s closing line is what CI reads, so test/run.ts is run here as a child process on tiny fixture
 * files (test/fixtures/runner/, outside the normal include) for every way a run can go wrong.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verdict } from '../../runner/closing-line.ts';
import type { TestCounts } from '../../runner/count-reporter.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ellipsis-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the count reporter writes, with every field set. */
const counts = (over: Partial<TestCounts> = {}): TestCounts => ({
  passed: 3,
  failed: 0,
  skipped: 0,
  todo: 0,
  unfinished: 0,
  errorsOutsideTests: [],
  reason: 'passed',
  ...over,
});

/** The outer vitest's own variables (VITEST, VITEST_WORKER_ID …) must not leak into the inner run. */
const cleanEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));

/** Runs `node test/run.ts` on one fixture; resolves with its exit code, its notes and its last line. */
const runFixture = (fixture: string, countsFile: string) =>
  new Promise<{ code: number | null; output: string; notes: string[]; last: string }>((resolve) => {
    const args = ['test/run.ts', '--config', 'test/fixtures/runner/vitest.config.ts', fixture];
    const env = { ...cleanEnv(), ELLIPSIS_TEST_COUNTS: countsFile, NO_COLOR: '1' };
    const child = execFile(process.execPath, args, { cwd: root, env }, (_error, stdout, stderr) => {
      const lines = stdout.trimEnd().split('\n');
      resolve({
        code: child.exitCode,
        output: `${stdout}\n${stderr}`,
        notes: lines.filter((l) => l.startsWith('npm test: ')),
        last: lines.at(-1) ?? '',
      });
    });
  });

describe('test/run.ts on fixture files', { concurrent: true, timeout: 60_000 }, () => {
  const outcomes = [
    {
      name: 'a normal run: passes, skips and todos apart, exit 0',
      fixture: 'passing.test.ts',
      last: '2 passed, 0 failed, 1 skipped, 1 todo',
      notes: [],
      code: 0,
    },
    {
      name: 'a failing test as failed',
      fixture: 'failing.test.ts',
      last: '1 passed, 1 failed, 0 skipped',
      notes: [],
      code: 1,
    },
    {
      name: 'a file that fails to import as a failure, naming it',
      fixture: 'import-failure.test.ts',
      last: '0 passed, 1 failed, 0 skipped',
      notes: ['npm test: failed outside a test: import-failure.test.ts: this module cannot be loaded'],
      code: 1,
    },
    {
      name: 'a failing beforeAll as a failure, the tests it kept from running as skipped',
      fixture: 'before-all-failure.test.ts',
      last: '0 passed, 1 failed, 2 skipped',
      notes: [
        'npm test: failed outside a test: before-all-failure.test.ts > a suite whose set-up fails: set-up failed',
      ],
      code: 1,
    },
  ];
  it.each(outcomes)('counts $name', async ({ fixture, last, notes, code }) => {
    const r = await runFixture(fixture, join(dir, `${fixture}.json`));
    expect(r.last).toBe(last);
    expect(r.notes).toEqual(notes);
    expect(r.code).toBe(code);
  });

  it('never reads a stale results file when vitest is killed by a signal', async () => {
    const countsFile = join(dir, 'killed.json');
    writeFileSync(countsFile, JSON.stringify(counts({ passed: 6 })));
    const r = await runFixture('killed.test.ts', countsFile);
    expect(r.output).not.toContain('6 passed');
    expect(r.notes).toEqual([
      'npm test: vitest was killed by SIGKILL before it finished: no results, counted as 1 failure',
    ]);
    expect(r.last).toBe('0 passed, 1 failed, 0 skipped');
    expect(r.code).toBe(1);
    expect(() => readFileSync(countsFile)).toThrow(/ENOENT/); // deleted before the run, never rewritten
  });
});

describe('verdict', () => {
  const exited = (status: number | null) => ({ status, signal: null });

  it('passes only a run that exited 0 with results and no failure', () => {
    expect(verdict(exited(0), counts())).toEqual({
      notes: [],
      line: '3 passed, 0 failed, 0 skipped',
      exitCode: 0,
    });
  });

  it('counts an unhandled error (vitest exits 1, every test passed) as a failure', () => {
    const v = verdict(exited(1), counts({ errorsOutsideTests: ['unhandled error: late boom'] }));
    expect(v).toEqual({
      notes: ['failed outside a test: unhandled error: late boom'],
      line: '3 passed, 1 failed, 0 skipped',
      exitCode: 1,
    });
  });

  it('never prints 0 failed for a non-zero exit, a crash, a missing status or a failed start', () => {
    const cases = [
      verdict(exited(1), counts()),
      verdict(exited(1), undefined),
      verdict(exited(0), undefined),
      verdict(exited(null), undefined),
      verdict({ status: null, signal: null, error: new Error('spawn ENOENT') }, undefined),
      verdict({ status: null, signal: 'SIGTERM' }, counts()),
    ];
    for (const v of cases) {
      expect(v.exitCode).toBe(1);
      expect(v.line).toMatch(/ 1 failed,/);
      expect(v.notes.length).toBeGreaterThan(0);
    }
  });

  it('counts tests an interrupted run never finished as skipped, and says so', () => {
    const v = verdict(exited(1), counts({ unfinished: 4, skipped: 1, reason: 'interrupted' }));
    expect(v.line).toBe('3 passed, 1 failed, 5 skipped');
    expect(v.notes).toContain('4 tests did not finish: counted as skipped');
  });
});
