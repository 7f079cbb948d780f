/**
 * Cold start and size: `osls package` (offline, into a temp dir so the shared .serverless/ is untouched)
 * gives each function's zip; each entry .mjs from the zip (what Lambda loads) is imported in a fresh Node
 * process, interleaved over several rounds, median reported, with and without `--enable-source-maps` (the
 * deployed NODE_OPTIONS). In the same rounds: the **SDK floor**, a bundle of just the AWS SDK clients a
 * function uses, built with the same esbuild settings — the goal is bundle import ≤ 1.3 × floor, as a ratio
 * taken within each round; the share of the other big dependencies (zod classic vs zod/mini, Powertools, ICU's
 * segmenter, the Graph transports: node:https, undici's Pool, built-in fetch); and the
 * same function bundled into one file (no code splitting), which is what splitting and lazy loading save.
 * Also the first invocation in that fresh process (config and clients built lazily).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { encodeStep, QUEUE_BODY_VERSION } from '../../lib/queue/codec.ts';
import { batchedWebhookBody, postEvent, signatureOf, usersBatch } from '../../local/meta.ts';
import { esbuildLikeServerless } from '../../test/support/esbuild-like-serverless.ts';
import type { Bench, Table } from '../support/report.ts';
import { spawnHelper } from '../support/spawn.ts';
import type { SqsInfo } from '../support/stack.ts';
import { distribution } from '../support/stats.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const FUNCTIONS = ['webhook', 'sender', 'send', 'responder'];
const ROUNDS = 11;

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

let postNo = 0;
/**
 * A signed POST with one text message, fresh ids each time: the webhook's real first request (verify,
 * parse, plan, one SendMessageBatch per queue to the local SQS). ASCII text, as most messages are.
 */
const firstPost = (): string => {
  postNo += 1;
  const body = batchedWebhookBody(usersBatch(1, 0, postNo), Date.now() + postNo);
  return JSON.stringify(
    postEvent(body, { 'x-hub-signature-256': signatureOf(body, benchEnv.META_APP_SECRET) }),
  );
};

/** A due mark_seen for one user, as the sender receives it from SQS: its real first step. */
const firstStep = (): string => {
  postNo += 1;
  const now = Date.now();
  const body = encodeStep({
    ...{ v: QUEUE_BODY_VERSION, channel: 'messenger', pageId: '104729348572910', psid: `77${postNo}` },
    ...{ sequenceId: `cold-${now}-${postNo}`, index: 0, count: 1, plannedAt: now, dueAt: now },
    ...{ action: { sender_action: 'mark_seen' }, delayMs: 0 },
  });
  const attributes = {
    ApproximateReceiveCount: '1',
    ...{ SentTimestamp: String(now), ApproximateFirstReceiveTimestamp: String(now) },
    ...{ MessageGroupId: `104729348572910:77${postNo}`, SequenceNumber: String(postNo) },
  };
  return JSON.stringify({
    Records: [{ messageId: `m${postNo}`, receiptHandle: `r${postNo}`, body, attributes }],
  });
};

/** The floor rows the first real requests are divided by (their sources: FLOOR_FIRST_SEND, FLOOR_FIRST_POST). */
const FLOOR_FIRST_SEND_KIND = 'SQS only, + first SendMessageBatch';
const FLOOR_FIRST_POST_KIND = 'SQS only, + first POST (node:http)';

/** Each function's first real request, and the floor row it is divided by. */
const FIRST_REQUEST: Record<string, { kind: string; event: () => string; floor: string }> = {
  webhook: {
    kind: 'bundle, + first signed POST',
    event: firstPost,
    floor: FLOOR_FIRST_SEND_KIND,
  },
  sender: {
    kind: 'bundle, + first step sent',
    event: firstStep,
    floor: FLOOR_FIRST_POST_KIND,
  },
};

const SCRIPT = `
const t0 = performance.now();
const mod = await import(process.argv[1]);
const imported = performance.now() - t0;
let invoked = null;
if (process.argv[2] && typeof mod.handler === 'function') {
  const t1 = performance.now();
  const result = await mod.handler(JSON.parse(process.argv[2]));
  invoked = performance.now() - t1;
  if (result && result.statusCode >= 400) throw new Error('handler answered ' + result.statusCode + ' ' + result.body);
  if (result && result.batchItemFailures?.length) throw new Error('batch failed: ' + JSON.stringify(result));
}
console.log(JSON.stringify({ imported, invoked, rss: process.memoryUsage().rss }));
`;

const measure = (
  url: string,
  event: string | undefined,
  nodeOptions: readonly string[],
  env: Readonly<Record<string, string>>,
) => {
  const run = spawnSync(
    process.execPath,
    [...nodeOptions, '--input-type=module', '-e', SCRIPT, url, ...(event ? [event] : [])],
    { encoding: 'utf8', env: { ...process.env, ...benchEnv, ...env }, timeout: 60_000 },
  );
  const line = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { imported: number; invoked: number | null; rss: number };
  } catch {
    throw new Error(`import of ${url} failed: ${run.stderr.slice(0, 500)}`);
  }
};

/** What each function's first invocation in AWS may load: the clients of the SDK floor. */
const SDK_CLIENTS = {
  sqs: "export { SQSClient, SendMessageBatchCommand, ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';",
  dynamodb: "export { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';",
  ssm: "export { getParameter } from '@aws-lambda-powertools/parameters/ssm';",
} as const;
const FLOORS: Record<string, readonly (keyof typeof SDK_CLIENTS)[]> = {
  'SQS + DynamoDB + SSM': ['sqs', 'dynamodb', 'ssm'],
  'SQS only': ['sqs'],
};
/**
 * Deployed, webhook and sender read SSM secrets and the state table; send only enqueues; the responder with
 * the default rules (RESPONDER=rules) reads and enqueues only (DynamoDB and SSM with RESPONDER=llm).
 */
const FLOOR_OF: Record<string, string> = {
  webhook: 'SQS + DynamoDB + SSM',
  sender: 'SQS + DynamoDB + SSM',
  send: 'SQS only',
  responder: 'SQS only',
};
const SHARES: Record<string, string> = {
  'zod (classic)':
    "import { z } from 'zod'; export const s = z.object({ a: z.string().min(1) }); s.parse({ a: 'x' });",
  'zod/mini + English locale':
    "import * as z from 'zod/mini'; import { en } from 'zod/locales'; z.config(en()); export const s = z.object({ a: z.string().check(z.minLength(1)) }); s.parse({ a: 'x' });",
  'Powertools logger + metrics':
    "export { Logger } from '@aws-lambda-powertools/logger'; export { Metrics } from '@aws-lambda-powertools/metrics';",
  // What every function loads besides its own code: the SQS client and the two libraries the core stands on.
  'SQS client + zod/mini + Powertools (libraries floor)':
    "export { SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs'; import * as z from 'zod/mini'; import { en } from 'zod/locales'; z.config(en()); export const s = z.object({ a: z.string() }); s.parse({ a: 'x' }); export { Logger } from '@aws-lambda-powertools/logger'; export { Metrics } from '@aws-lambda-powertools/metrics';",
  // The least a responder can load: what its first invocation (decode the batch, defer for the quiet window)
  // uses — the SQS client, telemetry, its config and the inbound decoder. Nothing of the turn itself.
  "responder's first-invocation needs (SQS, telemetry, config, inbound decoder)": [
    "export { SQSClient, ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';",
    ...['lib/platform/runtime.ts', 'lib/platform/config.ts', 'lib/queue/inbound-codec.ts'].map(
      (file) => `export * from ${JSON.stringify(join(repoRoot, file))};`,
    ),
  ].join(' '),
  // Node builds ICU's break iterators on the first Intl.Segmenter (lib/pacing/words.ts builds it lazily).
  'first Intl.Segmenter (ICU break data)': "new Intl.Segmenter('en', { granularity: 'word' }).segment('hi');",
  // The Graph transports, each with its first request (to a closed port): Node loads its built-in fetch
  // lazily on first use, so that cost lands on the first send, not the import.
  'node:https keep-alive Agent + first request':
    "import https from 'node:https'; const agent = new https.Agent({ keepAlive: true }); await new Promise((done) => https.request('https://127.0.0.1:9/', { method: 'POST', agent }, done).on('error', done).end('{}'));",
  'undici Pool by path + first request':
    "import Pool from 'undici/lib/dispatcher/pool.js'; import request from 'undici/lib/api/api-request.js'; await request.call(new Pool('https://127.0.0.1:9'), { path: '/', method: 'POST' }).catch(() => {});",
  'built-in fetch + first request':
    "await fetch('https://127.0.0.1:9/', { method: 'POST' }).catch(() => {});",
};

/** Builds one small bundle per named entry source into dir; returns name → file URL. */
const bundleSources = async (
  dir: string,
  prefix: string,
  sources: Record<string, string>,
): Promise<Record<string, string>> => {
  const urls: Record<string, string> = {};
  for (const [i, [name, code]] of Object.entries(sources).entries()) {
    const entry = join(dir, `${prefix}-${i}.mjs`);
    writeFileSync(entry, code);
    await build({
      ...esbuildLikeServerless,
      entryPoints: [entry],
      outdir: join(dir, `${prefix}-out-${i}`),
      nodePaths: [join(repoRoot, 'node_modules')],
    });
    urls[name] = pathToFileURL(join(dir, `${prefix}-out-${i}`, `${prefix}-${i}.mjs`)).href;
  }
  return urls;
};

/** The function as one file: no splitting, so what splitting keeps off the cold start is parsed at import. */
const bundleUnsplit = async (dir: string, fn: string): Promise<string> => {
  const outdir = join(dir, `unsplit-${fn}`);
  await build({
    ...esbuildLikeServerless,
    splitting: false,
    entryPoints: [join(repoRoot, 'functions', `${fn}.ts`)],
    outdir,
  });
  return pathToFileURL(join(outdir, `${fn}.mjs`)).href;
};

type Variant = {
  fn: string;
  kind: string;
  url: string;
  maps?: boolean;
  /** The first invocation's event; a function gives a fresh one per process. */
  event?: string | (() => string);
  /**
   * A first real request: runs against the bench's local SQS and Graph stand-in (their URLs in the env),
   * compared with the import + first call of the floor variant of this kind.
   */
  floor?: string;
};

/** The SQS floor's first real call: one SendMessageBatch to the local SQS, as the webhook's first POST makes. */
const FLOOR_FIRST_SEND = `import { SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
export const handler = async () => {
  const id = String(Date.now()) + String(Math.random()).slice(2);
  await new SQSClient({}).send(new SendMessageBatchCommand({ QueueUrl: process.env.QUEUE_URL,
    Entries: [{ Id: '0', MessageBody: '{}', MessageGroupId: 'g', MessageDeduplicationId: id }] }));
};`;

/** The transport's own first call, no SDK call: what the sender's first step needs besides its code. */
const FLOOR_FIRST_POST = `export { SQSClient } from '@aws-sdk/client-sqs';
export const handler = () => new Promise((done, fail) => {
  const http = process.getBuiltinModule('node:http');
  const agent = new http.Agent({ keepAlive: true });
  http.request(process.env.GRAPH_API_URL + '/v25.0/me/messages', { method: 'POST', agent }, (res) => {
    res.resume();
    res.on('end', () => { agent.destroy(); done(undefined); });
  }).on('error', fail).end('{}');
});`;

/**
 * The local SQS (fauxqs) and a Graph stand-in, each in its own process, for the first-request rows: both queues
 * on the one local queue (the webhook's first POST enqueues the prelude and the event).
 */
const withLiveBackends = async <T>(run: (env: Readonly<Record<string, string>>) => T): Promise<T> => {
  const sqs = await spawnHelper<SqsInfo>(new URL('../support/sqs-server.ts', import.meta.url).pathname);
  const graph = await spawnHelper<{ port: number }>(
    new URL('../support/child-server.ts', import.meta.url).pathname,
    ['--record'],
  );
  const graphUrl = `http://127.0.0.1:${graph.info.port}`;
  try {
    const result = run({ ...sqs.info.env, RESPONDER_QUEUE_URL: sqs.info.queueUrl, GRAPH_API_URL: graphUrl });
    // A step the sender dropped (a permanent failure) also ends its batch without a failure: count arrivals.
    const calls = (await (await fetch(`${graphUrl}/__calls`)).json()) as { kind: string }[];
    const seen = calls.filter((c) => c.kind === 'mark_seen').length;
    if (seen !== ROUNDS) throw new Error(`${seen} of ${ROUNDS} first steps reached the Graph stand-in`);
    return result;
  } finally {
    await Promise.all([sqs.stop(), graph.stop()]);
  }
};

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f));

type Unzipped = { zipBytes: number; importBytes: number; lazyBytes: number; entryUrl: string };

/** The files Node loads when it imports `entry`: the entry and the chunks it imports statically, transitively. */
const staticClosure = (entry: string): string[] => {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:from|import)\s*"(\.{1,2}\/[^"]+\.mjs)"/g))
      visit(join(dirname(file), m[1] ?? ''));
  };
  visit(entry);
  return [...seen];
};

const bytesOf = (files: readonly string[]): number => files.reduce((sum, f) => sum + statSync(f).size, 0);

/** Each function's zip, unzipped: what Node loads at import, and the chunks it loads on first use only. */
const unzipAll = (dir: string): Record<string, Unzipped> => {
  const out: Record<string, Unzipped> = {};
  for (const fn of FUNCTIONS) {
    const zip = join(dir, `${fn}.zip`);
    const target = join(dir, `unzipped-${fn}`);
    if (spawnSync('unzip', ['-q', '-o', zip, '-d', target]).status !== 0) continue;
    const entry = join(target, 'functions', `${fn}.mjs`);
    const all = filesUnder(join(target, 'functions')).filter((f) => f.endsWith('.mjs'));
    const loaded = staticClosure(entry);
    out[fn] = {
      zipBytes: statSync(zip).size,
      importBytes: bytesOf(loaded),
      lazyBytes: bytesOf(all.filter((f) => !loaded.includes(f))),
      entryUrl: pathToFileURL(entry).href,
    };
  }
  return out;
};

const variantsOf = async (dir: string, unzipped: Record<string, Unzipped>): Promise<Variant[]> => {
  const built = join(dir, 'built');
  mkdirSync(built);
  const floors = await bundleSources(
    built,
    'floor',
    Object.fromEntries(
      Object.entries(FLOORS).map(([name, clients]) => [name, clients.map((c) => SDK_CLIENTS[c]).join('\n')]),
    ),
  );
  const shares = await bundleSources(built, 'share', SHARES);
  const firstCalls = await bundleSources(built, 'first', {
    [FLOOR_FIRST_SEND_KIND]: FLOOR_FIRST_SEND,
    [FLOOR_FIRST_POST_KIND]: FLOOR_FIRST_POST,
  });
  const variants: Variant[] = [];
  for (const fn of FUNCTIONS) {
    const bundle = unzipped[fn];
    if (!bundle) continue;
    const event = FIRST_EVENT[fn];
    variants.push({ fn, kind: 'bundle', url: bundle.entryUrl, ...(event && { event }) });
    const first = FIRST_REQUEST[fn];
    if (first) variants.push({ fn, url: bundle.entryUrl, ...first });
    variants.push({ fn, kind: 'bundle, --enable-source-maps', url: bundle.entryUrl, maps: true });
    variants.push({ fn, kind: 'one file (no splitting)', url: await bundleUnsplit(built, fn) });
  }
  for (const [name, url] of Object.entries(floors)) variants.push({ fn: 'SDK floor', kind: name, url });
  for (const [name, url] of Object.entries(firstCalls))
    variants.push({ fn: 'SDK floor', kind: name, url, event: '{}', floor: name });
  for (const [name, url] of Object.entries(shares)) variants.push({ fn: 'share', kind: name, url });
  return variants;
};

type Samples = { imported: number[]; invoked: number[]; rss: number[] };

/** Every variant once per round, in a rotating order, so drift on a shared machine hits all alike. */
const runRounds = (
  variants: readonly Variant[],
  liveEnv: Readonly<Record<string, string>>,
): Map<Variant, Samples> => {
  const samples = new Map(variants.map((v) => [v, { imported: [], invoked: [], rss: [] } as Samples]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length]!;
      const event = typeof v.event === 'function' ? v.event() : v.event;
      const m = measure(v.url, event, v.maps ? ['--enable-source-maps'] : [], v.floor ? liveEnv : {});
      const s = samples.get(v)!;
      s.imported.push(m.imported);
      if (m.invoked !== null) s.invoked.push(m.invoked);
      s.rss.push(m.rss / 1024 / 1024);
    }
  }
  return samples;
};

/** p50 over rounds of a / b, both measured in the same round. */
const ratioP50 = (a: readonly number[], b: readonly number[]): number =>
  distribution(a.map((x, i) => x / (b[i] ?? Number.NaN))).p50;

const sizeTable = (unzipped: Record<string, Unzipped>, packageError?: string): Table => ({
  title: 'Bundle size per function (osls package, esbuild minified ESM with code splitting, arm64)',
  columns: [
    'function',
    'zip KiB',
    'loaded at import KiB (entry + static chunks)',
    'loaded on first use only KiB',
  ],
  rows: packageError
    ? [['(packaging unavailable)', null, null, null]]
    : FUNCTIONS.map((fn) => {
        const u = unzipped[fn];
        return [
          fn,
          u ? u.zipBytes / 1024 : null,
          u ? u.importBytes / 1024 : null,
          u ? u.lazyBytes / 1024 : null,
        ] as const;
      }),
  notes: packageError
    ? [`osls package failed, sizes skipped: ${packageError}`]
    : [
        'Zip includes the source maps (sourcemap: true in serverless.yml); the .mjs files alone are what Node reads.',
      ],
});

const importTable = (variants: readonly Variant[], samples: Map<Variant, Samples>): Table => {
  const floorOf = (fn: string) => variants.find((v) => v.fn === 'SDK floor' && v.kind === FLOOR_OF[fn]);
  const sqsOnly = variants.find((v) => v.fn === 'SDK floor' && v.kind === 'SQS only');
  const withoutMaps = (m: Variant) => variants.find((v) => v.fn === m.fn && v.url === m.url && !v.maps);
  return {
    title:
      'Cold start: import in a fresh Node process (+ first invocation), against the SDK floor of the same round',
    columns: [
      'function',
      'module',
      'KiB at import',
      'import p50 ms',
      'min',
      'max',
      '÷ SDK floor',
      '÷ SQS floor',
      '÷ same without maps',
      'first invoke p50 ms',
      'RSS MiB',
    ],
    rows: variants.map((v) => {
      const s = samples.get(v)!;
      const imp = distribution(s.imported);
      const floor = FLOOR_OF[v.fn] ? floorOf(v.fn) : undefined;
      return [
        v.fn,
        v.kind,
        bytesOf(staticClosure(fileURLToPath(v.url))) / 1024,
        imp.p50,
        imp.min,
        imp.max,
        floor ? ratioP50(s.imported, samples.get(floor)!.imported) : null,
        (FLOOR_OF[v.fn] || v.fn === 'share') && sqsOnly
          ? ratioP50(s.imported, samples.get(sqsOnly)!.imported)
          : null,
        v.maps ? ratioP50(s.imported, samples.get(withoutMaps(v)!)!.imported) : null,
        s.invoked.length ? distribution(s.invoked).p50 : null,
        distribution(s.rss).p50,
      ] as const;
    }),
    notes: [
      `${ROUNDS} rounds, variants interleaved; time inside the process around \`await import()\` (Node start-up excluded), ${process.version} here (Lambda's arm64 cores differ: compare rows, not absolutes). Ratios are the median of per-round ratios.`,
      `SDK floor: the clients a function uses when deployed — webhook and sender ${FLOOR_OF.webhook} (secrets as SSM parameters, the state table), send and the rules responder ${FLOOR_OF.send}. The bench env gives secrets as values and no table, which the bundles load on first use only, so "÷ SQS floor" is the strict comparison for this run.`,
      'First invoke: webhook answers a GET verify handshake, sender an empty batch — both build config and clients on that call, no network.',
    ],
  };
};

/** Import plus first real request, per round: what Meta waits for on a cold webhook, against the floor's. */
const firstRequestTable = (variants: readonly Variant[], samples: Map<Variant, Samples>): Table => {
  const total = (v: Variant) => {
    const s = samples.get(v)!;
    return s.imported.map((x, i) => x + (s.invoked[i] ?? Number.NaN));
  };
  const rows = variants
    .filter((v) => v.floor)
    .map((v) => {
      const s = samples.get(v)!;
      const floor = variants.find((f) => f.fn === 'SDK floor' && f.kind === v.floor);
      return [
        v.fn,
        v.kind,
        distribution(s.imported).p50,
        distribution(s.invoked).p50,
        distribution(total(v)).p50,
        floor ? ratioP50(total(v), total(floor)) : null,
      ] as const;
    });
  return {
    title:
      'Cold start to the first real request: import + first invocation against the local SQS and Graph stand-in',
    columns: ['function', 'module', 'import p50 ms', 'first call p50 ms', 'sum p50 ms', '÷ floor sum'],
    rows,
    notes: [
      "The webhook verifies a signed one-message POST, plans the prelude and sends one SendMessageBatch to each queue (local SQS in its own process, fresh ids each time); its floor sends one batch. The sender decodes one due mark_seen step and POSTs it to a Graph stand-in (own process, plain HTTP: no TLS on either side); its floor POSTs once over node:http. What the first request loads lazily (the SDK's own chunks, config) shows here, not in the import.",
      'Each function is divided by its own floor row, per round.',
    ],
  };
};

export const bench: Bench = {
  title: 'cold start and size: zipped bundles, import time against the AWS SDK floor, source maps, splitting',
  run: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ellipsis-package-'));
    try {
      const packaged = packageInto(dir);
      const unzipped = packaged.ok ? unzipAll(dir) : {};
      const variants = await variantsOf(dir, unzipped);
      const samples = await withLiveBackends((liveEnv) => runRounds(variants, liveEnv));
      const packageError = packaged.ok ? undefined : packaged.output.trim().split('\n').slice(-3).join(' / ');
      return {
        tables: [
          sizeTable(unzipped, packageError),
          importTable(variants, samples),
          firstRequestTable(variants, samples),
        ],
        data: {
          packaged: packaged.ok,
          variants: variants.map((v) => ({ fn: v.fn, kind: v.kind, ...samples.get(v) })),
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
