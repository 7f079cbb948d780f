/**
 * The project source files a function's bundle includes, by esbuild's metafile with the serverless.yml
 * settings (test/support/esbuild-like-serverless.ts): what the deployed zip can run, lazy chunks included,
 * so the SDK calls read from them (infra/iam/sdk-calls.ts) are the calls that function can make.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { esbuildLikeServerless } from '../../test/support/esbuild-like-serverless.ts';
import { repoRoot } from '../package.ts';

export type SourceFile = { path: string; text: string };

export const bundleSources = async (entry: string): Promise<SourceFile[]> => {
  const outdir = mkdtempSync(join(tmpdir(), 'ellipsis-iam-'));
  try {
    const result = await build({
      ...esbuildLikeServerless,
      entryPoints: [join(repoRoot, entry)],
      outdir,
      write: false,
      metafile: true,
      absWorkingDir: repoRoot,
    });
    return Object.keys(result.metafile.inputs)
      .filter((path) => !path.includes('node_modules') && /\.(ts|mjs|cjs|js)$/.test(path))
      .sort()
      .map((path) => ({ path, text: readFileSync(join(repoRoot, path), 'utf8') }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
};
