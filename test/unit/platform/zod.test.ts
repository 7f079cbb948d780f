import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { loadPlanConfig } from '../../../lib/pacing/config.ts';
import { describeIssues } from '../../../lib/platform/issues.ts';
import * as z from '../../../lib/platform/zod.ts';
import { esbuildLikeServerless } from '../../support/esbuild-like-serverless.ts';

const messageOf = (schema: z.ZodMiniType, value: unknown): string => {
  const r = schema.safeParse(value);
  return r.success ? 'accepted' : describeIssues(r.error.issues);
};

describe('lib/platform/zod.ts', () => {
  // zod/mini's own messages are all "Invalid input": these are the English locale's, as classic zod said them.
  it("gives every field error zod's English reason", () => {
    expect(messageOf(z.string().check(z.minLength(1)), '')).toBe(
      '(root): Too small: expected string to have >=1 characters',
    );
    expect(messageOf(z.object({ n: z.number() }), { n: 'x' })).toBe(
      'n: Invalid input: expected number, received string',
    );
    expect(messageOf(z.enum(['finish', 'restart']), 'later')).toBe(
      '(root): Invalid option: expected one of "finish"|"restart"',
    );
    expect(messageOf(z.url(), 'nope')).toBe('(root): Invalid URL');
  });

  it('keeps the reason in configuration errors, naming the variable', () => {
    expect(() => loadPlanConfig({ PLAN_TYPING_REFRESH_MS: '5' })).toThrow(
      'invalid configuration — PLAN_TYPING_REFRESH_MS: Too small: expected number to be >=1000',
    );
    expect(() => loadPlanConfig({ PLAN_READ_MIN_MS: '1.5' })).toThrow(
      'PLAN_READ_MIN_MS: Invalid input: expected int, received number',
    );
  });

  /**
   * What the module exists for: classic zod put ~430 KiB into every bundle, and so does zod/mini imported
   * the wrong way (a namespace re-exported as one object, a `z.core` value). Bundled like serverless.yml
   * (esbuild, ESM, minified, tree-shaken; the SDK left out, it holds no zod).
   */
  it('keeps zod tree-shaken in every function bundle', async () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const zodBytes: Record<string, number> = {};
    for (const fn of ['webhook', 'sender', 'send', 'responder']) {
      const { metafile } = await build({
        ...esbuildLikeServerless,
        entryPoints: [join(root, 'functions', `${fn}.ts`)],
        ...{ outdir: join(root, '.esbuild', 'zod-share'), write: false, metafile: true },
        external: ['@aws-sdk/*'],
      });
      const inputs = Object.values(metafile.outputs).flatMap((out) => Object.entries(out.inputs));
      zodBytes[fn] = inputs
        .filter(([path]) => path.includes('node_modules/zod/'))
        .reduce((sum, [, input]) => sum + input.bytesInOutput, 0);
    }
    // ~35 KiB each today (the schema kinds used, the parser core, the English messages).
    for (const bytes of Object.values(zodBytes)) expect(bytes).toBeLessThan(64 * 1024);
    expect(Object.keys(zodBytes)).toHaveLength(4);
  }, 30_000);
});
