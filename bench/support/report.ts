/**
 * What a bench returns, how it is printed and where it is written: one JSON file per bench under
 * bench/results/ (gitignored) and plain-text tables on stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt } from './stats.ts';

export type Cell = string | number | boolean | null;

export type Table = {
  title: string;
  columns: readonly string[];
  rows: readonly (readonly Cell[])[];
  /** How it was measured (time scale, mock vs fauxqs, rounds): printed under the table. */
  notes?: readonly string[];
};

export type BenchOutput = {
  tables: Table[];
  /** Raw numbers for the JSON file (distributions, samples). */
  data?: Record<string, unknown>;
  /** Files the bench wrote besides its JSON (pictures). */
  files?: string[];
};

export type Bench = {
  /** One line: what question the bench answers. */
  title: string;
  run: () => Promise<BenchOutput>;
};

export const resultsDir = join(import.meta.dirname, '..', 'results');

const cellText = (c: Cell): string => (typeof c === 'number' ? fmt(c) : c === null ? '—' : String(c));

export const renderTable = (table: Table): string => {
  const cells = table.rows.map((r) => r.map(cellText));
  // Numbers right-aligned, text left-aligned (decided per column from its first row).
  const numeric = table.columns.map((_, i) => typeof table.rows[0]?.[i] === 'number');
  const widths = table.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (parts: readonly string[]) =>
    `| ${parts.map((p, i) => (numeric[i] ? p.padStart(widths[i]!) : p.padEnd(widths[i]!))).join(' | ')} |`;
  const out = [
    `### ${table.title}`,
    '',
    line(table.columns),
    `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`,
    ...cells.map(line),
  ];
  for (const note of table.notes ?? []) out.push('', `> ${note}`);
  return `${out.join('\n')}\n`;
};

export const writeResult = (name: string, title: string, output: BenchOutput, elapsedMs: number): string => {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  const machine = { node: process.version, platform: process.platform, arch: process.arch };
  writeFileSync(
    file,
    `${JSON.stringify({ name, title, at: new Date().toISOString(), elapsedMs, machine, ...output }, null, 2)}\n`,
  );
  return file;
};
