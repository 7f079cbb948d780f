/**
 * The template `npm run package` writes, for the tests under test/infra/. CI packages before `npm test`, so
 * there a missing template fails the run (a check that silently skipped would pass a broken template). Run
 * alone, a missing or stale template (older than serverless.yml or anything under infra/ it reads) is
 * packaged first, one test file at a time (a lock directory: two osls runs would write .serverless/ at once).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runPackage, templatePath } from '../../infra/package.ts';
import { readTemplate, type Template } from '../../infra/template-check/template.ts';
import { until } from '../support/wait.ts';

const templateInputs = (): string[] => [
  join(repoRoot, 'serverless.yml'),
  join(repoRoot, 'infra', 'test-events.cjs'),
  ...['iam', 'alarms', 'events', 'deploy-checks'].flatMap((dir) =>
    readdirSync(join(repoRoot, 'infra', dir)).map((f) => join(repoRoot, 'infra', dir, f)),
  ),
];

/** The tests name the default stage's resources; `npm run doctor -- --stage prod` leaves prod's template. */
const TEST_STAGE = 'dev';
const packagedStage = (): string =>
  String(readTemplate(templatePath).Resources.SendLambdaFunction?.Properties?.FunctionName).split('-')[1] ??
  '';

export const templateIsStale = (): boolean => {
  if (!existsSync(templatePath)) return true;
  const builtAt = statSync(templatePath).mtimeMs;
  return templateInputs().some((f) => statSync(f).mtimeMs > builtAt) || packagedStage() !== TEST_STAGE;
};

const lockDir = join(repoRoot, '.serverless.package-lock');

const takeLock = (): boolean => {
  try {
    mkdirSync(lockDir);
    return true;
  } catch {
    return false;
  }
};

/** Runs `fn` holding the package lock: one osls build at a time across the test files (they share .serverless/). */
export const withPackageLock = async <T>(fn: () => T | Promise<T>): Promise<T> => {
  await until(
    takeLock,
    170_000,
    `the package lock ${lockDir} (another test file is packaging; a crashed run leaves it: remove it)`,
  );
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
};

/** The packaged template, packaging it first when stale (never under CI=true, where it must already exist). */
export const packagedTemplate = async (): Promise<Template> => {
  if (process.env.CI === 'true') {
    if (!existsSync(templatePath) || packagedStage() !== TEST_STAGE)
      throw new Error(
        `CI=true and no ${TEST_STAGE} template at ${templatePath}: .ci/run packages before npm test`,
      );
    return readTemplate(templatePath);
  }
  await withPackageLock(() => {
    if (!templateIsStale()) return;
    const result = runPackage();
    if (!result.ok) throw new Error(`\`npm run package\` failed:\n${result.output}`);
  });
  return readTemplate(templatePath);
};
