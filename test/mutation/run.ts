/**
 * `npm run mutation -- lib/<folder>` (or a file, or several; none = all of lib/): Stryker on that part of
 * lib/, on this Node (the project's Node 24, via npm) and from node_modules, so a fresh clone needs nothing
 * installed globally. The scope reaches stryker.config.mjs as MUTATION_SCOPE; arguments starting with `-`
 * go to Stryker as they are (`-- lib/pacing --concurrency 2`). docs/mutation.md says how to read the result.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const flagAt = args.findIndex((a) => a.startsWith('-'));
const paths = flagAt < 0 ? args : args.slice(0, flagAt);
const strykerFlags = flagAt < 0 ? [] : args.slice(flagAt);

/** A path as the config's globs see it (relative to the repo root, forward slashes), or why it cannot be. */
const scopeEntry = (path: string): { ok: string } | { error: string } => {
  const rel = relative(root, resolve(path)).split('\\').join('/');
  if (!existsSync(join(root, rel))) return { error: `${path}: no such file or folder` };
  if (rel !== 'lib' && !rel.startsWith('lib/'))
    return { error: `${path}: mutation testing covers lib/ only` };
  return { ok: posix.normalize(rel) };
};

const entries = paths.map(scopeEntry);
const errors = entries.flatMap((e) => ('error' in e ? [e.error] : []));
if (errors.length > 0) {
  for (const e of errors) console.error(`npm run mutation: ${e}`);
  console.error(
    'usage: npm run mutation -- [lib/<folder> | lib/<file>.ts ...] [--<stryker flag> <value> ...]',
  );
  process.exit(2);
}
const scope = entries.flatMap((e) => ('ok' in e ? [e.ok] : []));

const run = spawnSync(
  process.execPath,
  [join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'), 'run', ...strykerFlags],
  { cwd: root, stdio: 'inherit', env: { ...process.env, MUTATION_SCOPE: scope.join(',') } },
);
process.exit(run.status ?? 1);
