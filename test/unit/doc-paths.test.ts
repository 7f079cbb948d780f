/**
 * The README and docs/*.md name files and link to each other; both rot silently when code moves (the lib/ re-cut
 * left four README paths pointing nowhere). This keeps every repository path they name, every relative link
 * (and its #anchor) and every metric count they state true to the tree.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '../../lib/platform/metrics.ts';

const root = join(import.meta.dirname, '..', '..');

/** Written by a run, not committed (.gitignore): named in the docs as where to look, absent on a fresh clone. */
const GENERATED = new Set(['test/artifacts/']);
/** Docs another branch is adding; a link to one may land first. Remove an entry once the file is merged. */
const PENDING = new Set<string>();

const docFiles = (): string[] => [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

const TOP_DIRS = 'lib|functions|local|infra|bench|test';
/** A repository path as prose names it: not inside a URL or a longer path, `./` allowed. */
const PATH = new RegExp(`(?<![\\w./-])(?:\\./)?((?:${TOP_DIRS})/[\\w.\\-/<>*…{}]*)`, 'g');
/** A placeholder (`lib/<fn>/config.ts`), a glob or an elision names a pattern, not a file. */
const isPattern = (p: string) => /[<>*…{}]/.test(p);

/** Repository paths named in a document, trailing sentence punctuation removed. */
const namedPaths = (text: string): string[] =>
  [...text.matchAll(PATH)].map((m) => (m[1] ?? '').replace(/[.]+$/, '')).filter((p) => !isPattern(p));

/** Markdown link and image targets that are not URLs: `[x](docs/a.md#b)` → `docs/a.md#b`. */
const relativeLinks = (text: string): string[] =>
  [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1] ?? '')
    .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
const anchorsOf = (markdown: string): Set<string> => {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading = ''] of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
};

const read = (file: string) => readFileSync(join(root, file), 'utf8');
const exists = (path: string) => existsSync(join(root, path)) || GENERATED.has(path) || PENDING.has(path);

/** Why a link does not resolve, or undefined when it does. */
const brokenLink = (from: string, target: string): string | undefined => {
  const [file = '', anchor] = target.split('#');
  const path = file === '' ? from : posix.normalize(posix.join(posix.dirname(from), file));
  if (relative(root, join(root, path)).startsWith('..')) return `${from}: ${target} leaves the repository`;
  if (!exists(path)) return `${from}: ${target} (no ${path})`;
  if (anchor === undefined || !path.endsWith('.md') || !existsSync(join(root, path))) return undefined;
  return anchorsOf(read(path)).has(anchor)
    ? undefined
    : `${from}: ${target} (no heading #${anchor} in ${path})`;
};

describe('paths and links in README.md and docs/*.md', () => {
  const files = docFiles();

  it('reads the README and at least the architecture and configuration docs', () => {
    expect(files).toEqual(
      expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/configuration.md']),
    );
  });

  it('names only repository paths that exist', () => {
    const missing = files.flatMap((f) =>
      namedPaths(read(f)).flatMap((p) => (exists(p) ? [] : [`${f}: ${p}`])),
    );
    expect(missing).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    const broken = files.flatMap((f) => relativeLinks(read(f)).flatMap((t) => brokenLink(f, t) ?? []));
    expect(broken).toEqual([]);
  });

  it('states the metric count lib/platform/metrics.ts has, wherever it states one', () => {
    const counts = files.flatMap((f) =>
      [...read(f).matchAll(/(\d+) metric(?: name)?s\b/g)].map((m) => `${f}: ${m[1]}`),
    );
    expect(counts.filter((c) => !c.endsWith(`: ${METRIC_NAMES.length}`))).toEqual([]);
  });

  it('has no pending doc left once it exists', () => {
    expect([...PENDING].filter((p) => existsSync(join(root, p)))).toEqual([]);
  });
});

describe('the doc readers', () => {
  it('find paths in prose and code, but not inside URLs, longer paths or patterns', () => {
    const text =
      'see `lib/queue/codec.ts`, (test/unit/x.test.ts). RESPONDER_MODULE=./local/a.ts ' +
      'https://example.com/lib/no.ts node_modules/.bin/vitest lib/<fn>/config.ts lib/*/config.ts infra/.';
    expect(namedPaths(text)).toEqual(['lib/queue/codec.ts', 'test/unit/x.test.ts', 'local/a.ts', 'infra/']);
  });

  it('find relative links and images, not URLs', () => {
    const text = '[a](docs/a.md#b) ![i](chat.png) [u](https://x.y/z) [m](mailto:a@b) [s](#here "title")';
    expect(relativeLinks(text)).toEqual(['docs/a.md#b', 'chat.png', '#here']);
  });

  it('make anchors as GitHub does', () => {
    const md =
      '# Deploy\n## Sizing the webhook’s bounds\n## Graph errors\n## Graph errors\n```\n# not a heading\n```\n';
    expect([...anchorsOf(md)]).toEqual([
      'deploy',
      'sizing-the-webhooks-bounds',
      'graph-errors',
      'graph-errors-1',
    ]);
  });

  it('resolve a link relative to the document that holds it', () => {
    expect(brokenLink('docs/architecture.md', '../README.md')).toBeUndefined();
    expect(brokenLink('docs/architecture.md', 'configuration.md')).toBeUndefined();
    expect(brokenLink('README.md', 'docs/nowhere.md')).toMatch(/no docs\/nowhere\.md/);
    expect(brokenLink('README.md', 'docs/architecture.md#no-such-heading')).toMatch(/no heading/);
  });
});
