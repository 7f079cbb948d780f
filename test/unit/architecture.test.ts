/**
 * The layout is the architecture (README "Code map"): lib/ is grouped by pipeline stage and a stage imports
 * only stages below it, platform at the bottom. lib/ never reaches up into functions/ or local/, and AWS
 * event types stay in functions/ (the core takes plain parameters).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** Higher may import lower (or its own stage), never the other way. */
const STAGE_RANK: Record<string, number> = {
  platform: 0,
  queue: 1,
  pacing: 2,
  meta: 3,
  bots: 3,
  webhook: 4,
  responder: 4,
  sender: 4,
  console: 4,
  // lib/index.ts, the public face: re-exports only, and nothing in lib/ imports it.
  index: 5,
};

const sourcesUnder = (dir: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => posix.join(dir, f.split('\\').join('/')));

const importsOf = (file: string): string[] =>
  [...readFileSync(join(root, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map(
    (m) => m[1] ?? '',
  );

const stageOf = (file: string): string | undefined =>
  file === 'lib/index.ts' ? 'index' : file.match(/^lib\/([^/]+)\//)?.[1];

const resolveFrom = (file: string, spec: string): string =>
  spec.startsWith('.') ? posix.normalize(posix.join(dirname(file), spec)) : spec;

const libFiles = sourcesUnder('lib');

describe('architecture', () => {
  it('puts every lib/ module in a known stage folder', () => {
    const strays = libFiles.filter((f) => {
      const stage = stageOf(f);
      return stage === undefined || !(stage in STAGE_RANK);
    });
    expect(strays).toEqual([]);
  });

  it('imports stages downward only (platform at the bottom)', () => {
    const upward: string[] = [];
    for (const file of libFiles) {
      const from = stageOf(file) ?? '';
      for (const spec of importsOf(file)) {
        const target = resolveFrom(file, spec);
        const to = stageOf(target);
        if (to === undefined || to === from) continue;
        if ((STAGE_RANK[to] ?? 99) >= (STAGE_RANK[from] ?? -1)) upward.push(`${file} → ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('keeps lib/ free of functions/, local/, test doubles and AWS Lambda event types', () => {
    const leaks = libFiles.flatMap((file) =>
      importsOf(file)
        .map((spec) => ({ spec, target: resolveFrom(file, spec) }))
        .filter(
          ({ spec, target }) =>
            spec === 'aws-lambda' || /^(functions|local|test|bench|infra)\//.test(relative('.', target)),
        )
        .map(({ target }) => `${file} → ${target}`),
    );
    expect(leaks).toEqual([]);
  });

  it('imports zod only through lib/platform/zod.ts, and that one imports zod/mini', () => {
    // Classic zod cannot be tree-shaken: one import anywhere puts ~440 KiB into that Lambda's cold start.
    const ZOD_MODULE = 'lib/platform/zod.ts';
    const isZod = (spec: string) => spec === 'zod' || spec.startsWith('zod/');
    const direct = [...libFiles, ...sourcesUnder('functions'), ...sourcesUnder('local')]
      .filter((file) => file !== ZOD_MODULE)
      .flatMap((file) =>
        importsOf(file)
          .filter(isZod)
          .map((spec) => `${file} → ${spec}`),
      );
    expect(direct).toEqual([]);
    expect([...new Set(importsOf(ZOD_MODULE).filter(isZod))].sort()).toEqual([
      'zod/locales',
      'zod/mini',
      'zod/v4/core',
    ]);
  });

  it('keeps functions/ thin: handlers import lib/ and packages, never local/ or test/', () => {
    const leaks = sourcesUnder('functions').flatMap((file) =>
      importsOf(file)
        .map((spec) => resolveFrom(file, spec))
        .filter((target) => /^(local|test|bench)\//.test(target))
        .map((target) => `${file} → ${target}`),
    );
    expect(leaks).toEqual([]);
  });

  it('keeps lib/index.ts a small public face: re-exports only', () => {
    const lines = readFileSync(join(root, 'lib/index.ts'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !/^\s*(\/\*\*|\*|\/\/)/.test(l));
    expect(lines.filter((l) => !/^export (type )?\{[^}]*\} from '\.\/[^']+';$/.test(l))).toEqual([]);
    expect(lines.length).toBeLessThanOrEqual(20);
  });
});
