/**
 * `npm test`'s closing line is what CI reads, so test/run.ts is run here as a child process on tiny fixture
 * files (test/fixtures/runner/, outside the normal include) for every way a run can go wrong.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verdict } from '../../runner/closing-line.ts';
import type { TestCounts } from '../../runner/count-reporter.ts';
import { CORPUS_ENTRIES, hasCorpus } from '../../support/corpus.ts';

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

/** The outer run's own variables (VITEST_WORKER_ID …, CI) must not leak into the inner run. */
const cleanEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'CI'));

let runs = 0;
/** Runs `node test/run.ts <args>`; resolves with its exit code, its `npm test:` notes and its last line. */
const runTests = (args: string[], env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; output: string; notes: string[]; last: string }>((resolve) => {
    runs += 1;
    const fullEnv = {
      ...cleanEnv(),
      ELLIPSIS_TEST_COUNTS: join(dir, `counts-${runs}.json`),
      NO_COLOR: '1',
      ...env,
    };
    const child = execFile(
      process.execPath,
      ['test/run.ts', ...args],
      { cwd: root, env: fullEnv, maxBuffer: 64 * 1024 * 1024 },
      (_error, stdout, stderr) => {
        const lines = stdout.trimEnd().split('\n');
        resolve({
          code: child.exitCode,
          output: `${stdout}\n${stderr}`,
          notes: lines.filter((l) => l.startsWith('npm test: ')),
          last: lines.at(-1) ?? '',
        });
      },
    );
  });

const runFixture = (fixture: string, env: Record<string, string> = {}) =>
  runTests(['--config', 'test/fixtures/runner/vitest.config.ts', fixture], env);

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
    const r = await runFixture(fixture);
    expect(r.last).toBe(last);
    expect(r.notes).toEqual(notes);
    expect(r.code).toBe(code);
  });

  it('never reads a stale results file when vitest is killed by a signal', async () => {
    const countsFile = join(dir, 'killed.json');
    writeFileSync(countsFile, JSON.stringify(counts({ passed: 6 })));
    const r = await runFixture('killed.test.ts', { ELLIPSIS_TEST_COUNTS: countsFile });
    expect(r.output).not.toContain('6 passed');
    expect(r.notes).toEqual([
      'npm test: vitest was killed by SIGKILL before it finished: no results, counted as 1 failure',
    ]);
    expect(r.last).toBe('0 passed, 1 failed, 0 skipped');
    expect(r.code).toBe(1);
    expect(() => readFileSync(countsFile)).toThrow(/ENOENT/); // deleted before the run, never rewritten
  });
});

describe('test/run.ts without the shared corpus', { concurrent: true, timeout: 120_000 }, () => {
  const emptyShared = () => mkdtempSync(join(dir, 'shared-'));

  it('fails the run under CI=true, saying why, whatever the tests say', async () => {
    const shared = emptyShared();
    const r = await runFixture('passing.test.ts', { CI: 'true', ELLIPSIS_SHARED_DIR: shared });
    expect(r.notes).toEqual([
      `npm test: failed: CI=true but the shared corpus is missing (${join(shared, 'corpus')})`,
    ]);
    expect(r.last).toBe('2 passed, 1 failed, 1 skipped, 1 todo');
    expect(r.code).toBe(1);
  });

  it('passes outside CI', async () => {
    const r = await runFixture('passing.test.ts', { ELLIPSIS_SHARED_DIR: emptyShared() });
    expect([r.last, r.code]).toEqual(['2 passed, 0 failed, 1 skipped, 1 todo', 0]);
  });

  const corpusSuites = [
    'test/property/corpus-webhooks.test.ts',
    'test/property/corpus-graph-errors.test.ts',
    'test/unit/bots/responder.test.ts',
  ];
  const numbers = (line: string) =>
    line
      .match(/^(\d+) passed, (\d+) failed, (\d+) skipped$/)
      ?.slice(1)
      .map(Number);

  it.skipIf(!hasCorpus)('reports every corpus test as skipped instead of letting it vanish', async () => {
    const [present, absent] = await Promise.all([
      runTests(corpusSuites),
      runTests(corpusSuites, { ELLIPSIS_SHARED_DIR: emptyShared() }),
    ]);
    const [passed = 0, failed = 0, skipped = 0] = numbers(present.last) ?? [];
    expect([failed, skipped]).toEqual([0, 0]);
    const [passedWithout = 0, failedWithout, skippedWithout = 0] = numbers(absent.last) ?? [];
    expect(failedWithout).toBe(0);
    expect(passedWithout + skippedWithout).toBe(passed); // same tests, only skipped
    expect(skippedWithout).toBeGreaterThan(CORPUS_ENTRIES.webhooks * 3 + CORPUS_ENTRIES.graph_errors * 2);
  });
});

/** A `node` older than 24 on PATH (CI machines have Node 20 there; npm scripts put Node 24 first). */
const oldNode = (process.env.PATH ?? '')
  .split(delimiter)
  .map((dir) => join(dir, 'node'))
  .find((bin) => {
    try {
      return Number(execFileSync(bin, ['-p', 'process.versions.node.split(".")[0]']).toString()) < 24;
    } catch {
      return false; // not there, or not a node
    }
  });

describe('vitest started directly on an older Node', () => {
  it.skipIf(oldNode === undefined)('stops at once and says to run tests through npm', async () => {
    const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        oldNode ?? '',
        [vitest, 'run', 'test/unit/pacing/plan.test.ts'],
        { cwd: root, env: cleanEnv() },
        (_e, _out, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/this project needs Node 24/);
    expect(r.stderr).toContain('npm test -- test/unit/pacing/plan.test.ts');
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
