/**
 * `npm run package [-- --stage prod --region eu-west-1]`: runs `osls package` offline and prints the zip
 * sizes. Packaging needs no AWS account: osls only compiles the CloudFormation template and esbuild bundles
 * (.serverless/), so placeholder credentials are set when none are configured, in case a plugin asks the
 * SDK for them. Deploying (`npx osls deploy`) is the step that needs real credentials.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..');
export const packageDir = join(repoRoot, '.serverless');
export const templatePath = join(packageDir, 'cloudformation-template-update-stack.json');

export type PackageResult = { ok: boolean; output: string; zips: Record<string, number> };

/** Sizes in bytes of the function zips in .serverless/, by function name. */
export const zipSizes = (dir = packageDir): Record<string, number> =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.zip'))
      .map((f) => [f.slice(0, -'.zip'.length), statSync(join(dir, f)).size]),
  );

/** Where `osls package` writes: its `--package <dir>` argument, else .serverless/. */
const outputDirOf = (args: readonly string[]): string => {
  const at = args.indexOf('--package');
  return (at >= 0 && args[at + 1]) || packageDir;
};

/** Runs `osls package` with the given extra arguments; never throws for a failed build, returns its output. */
export const runPackage = (
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): PackageResult => {
  const hasCredentials = Boolean(env.AWS_PROFILE || env.AWS_ACCESS_KEY_ID);
  const run = spawnSync(
    process.execPath,
    [join(repoRoot, 'node_modules', 'osls', 'bin', 'serverless.js'), 'package', ...args],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      env: {
        ...env,
        ...(hasCredentials
          ? {}
          : { AWS_ACCESS_KEY_ID: 'offline-packaging', AWS_SECRET_ACCESS_KEY: 'offline' }),
        // Plain output for CI logs.
        SLS_INTERACTIVE_SETUP_DISABLE: '1',
        FORCE_COLOR: '0',
      },
    },
  );
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? String(run.error) : ''}`;
  if (run.status !== 0) return { ok: false, output, zips: {} };
  return { ok: true, output, zips: zipSizes(outputDirOf(args)) };
};

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

if (import.meta.main) {
  const result = runPackage(process.argv.slice(2));
  console.log(result.output.trim());
  if (!result.ok) {
    console.error('osls package failed');
    process.exit(1);
  }
  for (const [name, bytes] of Object.entries(result.zips)) console.log(`${name}.zip  ${kib(bytes)}`);
  console.log(`template: ${templatePath}`);
}
