/**
 * The serverless.yml `custom.esbuild` settings that shape what Node parses at cold start (format, target,
 * minify, splitting, the `require` banner), for the tests and benches that bundle a function themselves.
 * One copy, so a change in serverless.yml has one place to follow it here.
 */
import type { BuildOptions } from 'esbuild';

export const esbuildLikeServerless: BuildOptions = {
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  treeShaking: true,
  mainFields: ['module', 'main'],
  outExtension: { '.js': '.mjs' },
  banner: {
    js: "import { createRequire as __ellipsisCreateRequire } from 'node:module'; const require = __ellipsisCreateRequire(import.meta.url);",
  },
  logLevel: 'error',
};
