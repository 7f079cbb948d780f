/**
 * What a cold start loads, as a fact rather than a timing (issue #13 goal 4): each function bundle, imported
 * in a fresh Node process, loads none of the Node internals that only a lazy export pulls in. An ESM
 * `import … from 'node:http'` did: it builds the namespace from every export, WebSocket included, and so
 * loads Node's bundled undici and http2 (~18 ms of the sender's import, coldstart bench).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { esbuildLikeServerless } from '../../support/esbuild-like-serverless.ts';

const root = join(import.meta.dirname, '..', '..', '..');
// Bundled whole, as serverless.yml does: the SDK's unbundled ESM imports node:http2 itself, tree-shaken away.
mkdirSync(join(root, '.esbuild'), { recursive: true });
const outdir = mkdtempSync(join(root, '.esbuild', 'startup-modules-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const NEVER_AT_IMPORT = ['internal/deps/undici/undici', 'http2', 'internal/webstreams/readablestream'];

/** The native modules Node has loaded after importing `file` (process.moduleLoadList). */
const loadedBy = (file: string): string[] => {
  const script = `await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(JSON.stringify(process.moduleLoadList));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
  });
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '[]') as string[];
};

describe('function bundles at import', () => {
  for (const fn of ['webhook', 'sender', 'send', 'responder']) {
    it(`${fn} loads no Node internal only a lazy export needs`, async () => {
      await build({
        ...esbuildLikeServerless,
        entryPoints: [join(root, 'functions', `${fn}.ts`)],
        outdir: join(outdir, fn),
      });
      const loaded = loadedBy(join(outdir, fn, `${fn}.mjs`)).map((m) => m.replace(/^NativeModule /, ''));
      expect(loaded.length).toBeGreaterThan(50);
      expect(loaded.filter((m) => NEVER_AT_IMPORT.includes(m))).toEqual([]);
    }, 30_000);
  }
});
