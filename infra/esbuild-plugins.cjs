/**
 * esbuild plugins for serverless-esbuild (serverless.yml custom.esbuild.plugins).
 *
 * With `splitting: true`, what a function loads on first use only (SSM, DynamoDB, the AWS SDK's own lazy
 * credential providers) becomes a chunk file that Node neither reads nor parses at cold start. Each function's
 * chunks go to `functions/<name>.chunks/`: serverless-esbuild leaves every file named `<other function>.*` out
 * of a function's zip, so each zip carries its own chunks only.
 */
const { basename, extname } = require('node:path');

const entryName = (entryPoints) => {
  const first = Array.isArray(entryPoints) ? entryPoints[0] : Object.values(entryPoints ?? {})[0];
  const path = typeof first === 'string' ? first : first?.in;
  return path ? basename(path, extname(path)) : 'bundle';
};

module.exports = [
  {
    name: 'chunks-per-function',
    setup(build) {
      build.initialOptions.chunkNames = `${entryName(build.initialOptions.entryPoints)}.chunks/[name]-[hash]`;
    },
  },
];
