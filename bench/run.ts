/**
 * `npm run bench` runs every bench/<stage>/<name>.bench.ts; `npm run bench -- <name> [<name>…]` runs some.
 *
 * Each bench runs in its own fresh Node process (no JIT, heap or socket state shared between benches),
 * prints its tables and writes bench/results/<name>.json. The machine is shared and noisy: benches report
 * distributions and ratios of variants measured side by side, never pass/fail thresholds; the exit code
 * only says whether every bench ran.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Bench, renderTable, writeResult } from './support/report.ts';

const benchDir = import.meta.dirname;
const SUFFIX = '.bench.ts';
/** Order: the cheap micro-benches first, the local-stack runs last. */
const ORDER = [
  'codec',
  'signature',
  'messenger',
  'plan',
  'graph',
  'webhook',
  'coldstart',
  'sender',
  'timing',
];

/** bench/<stage>/<name>.bench.ts, mirroring lib/'s stages; a bench is named by its file name alone. */
const benchFiles = (): Map<string, string> =>
  new Map(
    readdirSync(benchDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith(SUFFIX) && !f.startsWith('support'))
      .map((f) => [basename(f, SUFFIX), join(benchDir, f)]),
  );

const available = (): string[] =>
  [...benchFiles().keys()].sort((a, b) => {
    const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
    return rank(a) - rank(b) || a.localeCompare(b);
  });

const runChild = async (name: string): Promise<void> => {
  const mod = (await import(pathToFileURL(benchFiles().get(name) ?? name).href)) as { bench: Bench };
  const started = performance.now();
  console.log(`\n## ${name}: ${mod.bench.title}\n`);
  const output = await mod.bench.run();
  const elapsed = performance.now() - started;
  for (const table of output.tables) console.log(renderTable(table));
  const file = writeResult(name, mod.bench.title, output, elapsed);
  for (const extra of output.files ?? []) console.log(`wrote ${extra}`);
  console.log(`wrote ${file} (${(elapsed / 1000).toFixed(1)} s)`);
};

const main = async (): Promise<number> => {
  const args = process.argv.slice(2);
  if (args[0] === '--child' && args[1]) {
    await runChild(args[1]);
    return 0;
  }
  const all = available();
  const unknown = args.filter((a) => !all.includes(a));
  if (unknown.length > 0) {
    console.error(`unknown bench: ${unknown.join(', ')} (available: ${all.join(', ')})`);
    return 2;
  }
  const selected = args.length > 0 ? args : all;
  const failed: string[] = [];
  const started = performance.now();
  for (const name of selected) {
    const child = spawnSync(process.execPath, [import.meta.filename, '--child', name], {
      stdio: 'inherit',
      // A hung bench must not hold the whole run: the budget for everything is 10 minutes.
      timeout: 5 * 60_000,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (child.status !== 0) failed.push(`${name} (${child.signal ?? `exit ${child.status}`})`);
  }
  const total = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\nbench: ${selected.length - failed.length}/${selected.length} ran in ${total} s`);
  if (failed.length > 0) console.error(`failed: ${failed.join(', ')}`);
  return failed.length > 0 ? 1 : 0;
};

process.exitCode = await main();
