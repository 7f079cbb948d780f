/**
 * Cold start and size: `osls package` (offline, into a temp dir so the shared .serverless/ is untouched)
 * gives each function's zip; then each handler module is imported in a fresh Node process — the bundled
 * .mjs from the zip (what Lambda loads) and the TypeScript source — interleaved over several rounds,
 * median reported. Also the first invocation in that fresh process (config + clients built lazily).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Bench, Table } from '../support/report.ts';
import { distribution } from '../support/stats.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const FUNCTIONS = ['webhook', 'sender', 'send'];
const ROUNDS = 7;

const packageInto = (dir: string): { ok: boolean; output: string } => {
  const run = spawnSync(
    process.execPath,
    [join(repoRoot, 'node_modules', 'osls', 'bin', 'serverless.js'), 'package', '--package', dir],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 180_000,
      env: {
        ...process.env,
        // Offline: osls compiles the template and bundles; nothing reaches AWS (see infra/package.ts).
        AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'offline-packaging',
        AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'offline',
        SLS_INTERACTIVE_SETUP_DISABLE: '1',
        FORCE_COLOR: '0',
      },
    },
  );
  return { ok: run.status === 0, output: `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ?? ''}` };
};

/** Env that lets each handler build its dependencies without AWS (values, not SSM names). */
const benchEnv = {
  QUEUE_URL: 'http://127.0.0.1:9/000000000000/steps.fifo',
  RESPONDER_QUEUE_URL: 'http://127.0.0.1:9/000000000000/responder.fifo',
  DLQ_URL: 'http://127.0.0.1:9/000000000000/steps-dlq.fifo',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  META_APP_SECRET: 'coldstart-app-secret',
  META_VERIFY_TOKEN: 'coldstart-verify-token',
  META_PAGE_ACCESS_TOKEN: 'coldstart-page-token',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

/** An event each handler answers without any network call. */
const FIRST_EVENT: Record<string, string> = {
  webhook: JSON.stringify({
    version: '2.0',
    rawQueryString: 'hub.mode=subscribe&hub.verify_token=coldstart-verify-token&hub.challenge=42',
    headers: {},
    requestContext: { http: { method: 'GET' } },
    isBase64Encoded: false,
  }),
  sender: JSON.stringify({ Records: [] }),
};

const SCRIPT = `
const t0 = performance.now();
const mod = await import(process.argv[1]);
const imported = performance.now() - t0;
let invoked = null;
if (process.argv[2]) {
  const t1 = performance.now();
  await mod.handler(JSON.parse(process.argv[2]));
  invoked = performance.now() - t1;
}
console.log(JSON.stringify({ imported, invoked, rss: process.memoryUsage().rss }));
`;

const measure = (url: string, event?: string) => {
  const run = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', SCRIPT, url, ...(event ? [event] : [])],
    {
      encoding: 'utf8',
      env: { ...process.env, ...benchEnv },
      timeout: 60_000,
    },
  );
  const line = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { imported: number; invoked: number | null; rss: number };
  } catch {
    throw new Error(`import of ${url} failed: ${run.stderr.slice(0, 500)}`);
  }
};

export const bench: Bench = {
  title: 'cold start and size: zipped bundles and handler import time in a fresh Node process',
  run: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ellipsis-package-'));
    const tables: Table[] = [];
    try {
      const packaged = packageInto(dir);
      const zips = packaged.ok
        ? Object.fromEntries(
            readdirSync(dir)
              .filter((f) => f.endsWith('.zip'))
              .map((f) => [f.slice(0, -4), join(dir, f)]),
          )
        : {};
      const variants: { fn: string; kind: string; url: string }[] = [];
      const bundleBytes: Record<string, number> = {};
      for (const fn of FUNCTIONS) {
        const zip = zips[fn];
        if (zip) {
          const out = join(dir, `unzipped-${fn}`);
          const unzip = spawnSync('unzip', ['-q', '-o', zip, '-d', out]);
          const mjs = join(out, 'functions', `${fn}.mjs`);
          if (unzip.status === 0) {
            bundleBytes[fn] = statSync(mjs).size;
            variants.push({ fn, kind: 'bundle (.mjs from the zip)', url: pathToFileURL(mjs).href });
          }
        }
        variants.push({
          fn,
          kind: 'source (.ts, node_modules)',
          url: pathToFileURL(join(repoRoot, 'functions', `${fn}.ts`)).href,
        });
      }
      const samples = new Map(
        variants.map((v) => [v, { imported: [] as number[], invoked: [] as number[], rss: [] as number[] }]),
      );
      for (let r = 0; r < ROUNDS; r++) {
        for (let i = 0; i < variants.length; i++) {
          const v = variants[(i + r) % variants.length]!;
          const m = measure(v.url, FIRST_EVENT[v.fn]);
          const s = samples.get(v)!;
          s.imported.push(m.imported);
          if (m.invoked !== null) s.invoked.push(m.invoked);
          s.rss.push(m.rss / 1024 / 1024);
        }
      }
      tables.push({
        title: 'Bundle size per function (osls package, esbuild minified ESM, arm64)',
        columns: ['function', 'zip KiB', 'bundle .mjs KiB'],
        rows: packaged.ok
          ? FUNCTIONS.map(
              (fn) =>
                [
                  fn,
                  zips[fn] ? statSync(zips[fn]).size / 1024 : null,
                  bundleBytes[fn] ? bundleBytes[fn] / 1024 : null,
                ] as const,
            )
          : [['(packaging unavailable)', null, null]],
        notes: packaged.ok
          ? [
              'Zip includes the source map (sourcemap: true in serverless.yml); the .mjs alone is what Node parses.',
            ]
          : [
              `osls package failed, sizes skipped: ${packaged.output.trim().split('\n').slice(-3).join(' / ')}`,
            ],
      });
      tables.push({
        title: 'Cold start: handler import (+ first invocation) in a fresh Node process',
        columns: [
          'function',
          'module',
          'import p50 ms',
          'import min ms',
          'import max ms',
          'first invoke p50 ms',
          'RSS after MiB',
        ],
        rows: variants.map((v) => {
          const s = samples.get(v)!;
          const imp = distribution(s.imported);
          return [
            v.fn,
            v.kind,
            imp.p50,
            imp.min,
            imp.max,
            s.invoked.length ? distribution(s.invoked).p50 : null,
            distribution(s.rss).p50,
          ] as const;
        }),
        notes: [
          `${ROUNDS} rounds, variants interleaved; time measured inside the process around \`await import()\` (Node start-up excluded), ${process.version} on this machine (Lambda's arm64 cores differ: compare rows, not absolutes).`,
          'First invoke: webhook answers a GET verify handshake, sender an empty batch — both build config and clients on that call, no network.',
        ],
      });
      return {
        tables,
        data: {
          packaged: packaged.ok,
          variants: variants.map((v) => ({ ...v, url: undefined, ...samples.get(v) })),
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
