/**
 * docs/architecture.md's "Code map" is the tree: every module in lib/ and functions/ is named there (a row may name
 * `a.ts`, `b.ts` after a first full path in the same folder, or a whole folder ending in `/`), and every path
 * it names exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

const modulesUnder = (dir: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => posix.join(dir, f.split('\\').join('/')));

/** The section between `## Code map` and the next heading. */
const codeMap = (readme: string): string => {
  const start = readme.indexOf('## Code map');
  if (start < 0) return '';
  const next = readme.slice(start + 1).search(/\n#{2,3} /);
  return next < 0 ? readme.slice(start) : readme.slice(start, start + 1 + next);
};

/** The paths a table row names in its first cell; a bare `b.ts` is a sibling of the row's first full path. */
const namedPaths = (section: string): string[] =>
  section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => {
      const cell = line.split('|')[1] ?? '';
      const names = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
      const dir = posix.dirname(names[0] ?? '');
      return names.map((n, i) => (i === 0 || n.includes('/') ? n : posix.join(dir, n)));
    });

describe('docs/architecture.md code map', () => {
  const paths = namedPaths(codeMap(readFileSync(join(root, 'docs', 'architecture.md'), 'utf8')));

  it('names every module of lib/ and functions/', () => {
    const covered = (file: string) =>
      paths.some((p) => p === file || (p.endsWith('/') && file.startsWith(p)));
    expect([...modulesUnder('lib'), ...modulesUnder('functions')].filter((f) => !covered(f))).toEqual([]);
  });

  it('names only paths that exist', () => {
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });

  it('reads sibling names and folder rows', () => {
    const section = '## Code map\n| `lib/a/x.ts`, `y.ts` | … |\n| `lib/b/` | … |\n## Next\n| `lib/c.ts` | |';
    expect(namedPaths(codeMap(section))).toEqual(['lib/a/x.ts', 'lib/a/y.ts', 'lib/b/']);
  });
});
