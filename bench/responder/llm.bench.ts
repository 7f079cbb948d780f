/**
 * The LLM responder's client: the official `openai` package (what lib/bots/llm/completion.ts uses) against
 * a minimal fetch + SSE reader (bench/support/fetch-chat-stream.ts), on what each costs a Lambda — bundle
 * bytes (esbuild, minified ESM, as serverless-esbuild builds), import time in a fresh Node process, and time
 * per streamed answer from the local OpenAI fake — plus what the user gets: when the first bubble exists
 * against when the stream ends.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { bubbleSplitter } from '../../lib/bots/llm/bubbles.ts';
import type { Complete } from '../../lib/bots/llm/completion.ts';
import { openAiComplete } from '../../lib/bots/llm/completion.ts';
import { llmResponderFromEnv } from '../../lib/bots/llm/index.ts';
import { resolveSecrets } from '../../lib/platform/config.ts';
import { type OpenAiFake, startOpenAiFake } from '../../local/openai-fake.ts';
import { memoryTelemetry } from '../../test/support/telemetry.ts';
import { fetchComplete } from '../support/fetch-chat-stream.ts';
import type { Bench, Table } from '../support/report.ts';
import { distribution, interleave } from '../support/stats.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const KEY = 'sk-bench-0000000000000000';
const IMPORT_ROUNDS = 15;
const STREAM_ROUNDS = 40;

const ENTRIES = [
  { name: 'client alone: openai', file: 'lib/bots/llm/completion.ts', swap: false },
  { name: 'client alone: fetch + SSE', file: 'bench/support/fetch-chat-stream.ts', swap: false },
  { name: 'whole responder, openai (shipped)', file: 'lib/bots/llm/index.ts', swap: false },
  { name: 'whole responder, fetch + SSE', file: 'lib/bots/llm/index.ts', swap: true },
];

/** Resolves the responder's client module to the fetch shim: the same bundle but for the client. */
const swapClient: Plugin = {
  name: 'swap-llm-client',
  setup: (b) => {
    b.onResolve({ filter: /\/completion\.ts$/ }, (args) =>
      args.importer.endsWith('index.ts')
        ? { path: join(repoRoot, 'bench/support/fetch-completion-shim.ts') }
        : undefined,
    );
  },
};

const bundle = async (dir: string, entry: (typeof ENTRIES)[number], i: number): Promise<string> => {
  const outfile = join(dir, `entry-${i}.mjs`);
  await build({
    entryPoints: [join(repoRoot, entry.file)],
    plugins: entry.swap ? [swapClient] : [],
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    outfile,
    logLevel: 'silent',
    // What serverless-esbuild adds for ESM bundles that contain CommonJS dependencies.
    banner: { js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);" },
  });
  return outfile;
};

const importMs = (file: string): number => {
  const script = `const t=performance.now();await import(process.argv[1]);console.log(performance.now()-t)`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(file).href], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const value = Number(run.stdout.trim());
  if (!Number.isFinite(value)) throw new Error(`import of ${file} failed: ${run.stderr.slice(0, 300)}`);
  return value;
};

const sizeAndImportTable = async (): Promise<Table> => {
  const dir = mkdtempSync(join(tmpdir(), 'ellipsis-llm-bench-'));
  try {
    const files = await Promise.all(ENTRIES.map((e, i) => bundle(dir, e, i)));
    const samples = files.map(() => [] as number[]);
    for (let r = 0; r < IMPORT_ROUNDS; r++) {
      for (let i = 0; i < files.length; i++) {
        const k = (i + r) % files.length;
        samples[k]?.push(importMs(files[k] ?? ''));
      }
    }
    return {
      title: 'Cost in the bundle: size and import time in a fresh Node process',
      columns: ['module', 'bundle KiB', 'gzip KiB', 'import p50 ms', 'import min ms'],
      rows: ENTRIES.map((e, i) => {
        const file = files[i] ?? '';
        const gzip = spawnSync('gzip', ['-c', file], { maxBuffer: 64 * 1024 * 1024 }).stdout.length;
        const d = distribution(samples[i] ?? []);
        return [e.name, statSync(file).size / 1024, gzip / 1024, d.p50, d.min];
      }),
      notes: [
        `esbuild minified ESM for node24, ${IMPORT_ROUNDS} rounds interleaved, time around \`await import()\` only.`,
        'The whole responder carries the DynamoDB client (conversation memory) and Powertools SSM (LLM_API_KEY_PARAM), which every function bundle has already; the two whole-responder rows differ only in the client.',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const drain = async (complete: Complete): Promise<number> => {
  let n = 0;
  for await (const delta of complete([{ role: 'user', content: 'go' }], new AbortController().signal))
    n += delta.length;
  return n;
};

const streamTable = async (fake: OpenAiFake): Promise<Table> => {
  const options = { baseUrl: fake.baseUrl, apiKey: KEY, model: 'bench' };
  const clients = [
    { name: 'openai', complete: openAiComplete({ ...options, timeoutMs: 10_000 }) },
    { name: 'fetch + SSE', complete: fetchComplete(options) },
  ];
  const samples = clients.map(() => [] as number[]);
  for (const c of clients) await drain(c.complete);
  for (let r = 0; r < STREAM_ROUNDS; r++) {
    for (let i = 0; i < clients.length; i++) {
      const k = (i + r) % clients.length;
      const t0 = performance.now();
      await drain(clients[k]?.complete ?? clients[0]!.complete);
      samples[k]?.push(performance.now() - t0);
    }
  }
  return {
    title: 'Time per streamed answer (300 chunks, no delay, local fake, warm client)',
    columns: ['client', 'p50 ms', 'p95 ms', 'µs per chunk (p50)'],
    rows: clients.map((c, i) => {
      const d = distribution(samples[i] ?? []);
      return [c.name, d.p50, d.p95, (d.p50 * 1000) / 300];
    }),
    notes: [`${STREAM_ROUNDS} rounds interleaved; keep-alive on both (Node's fetch).`],
  };
};

const firstBubbleTable = async (fake: OpenAiFake): Promise<Table> => {
  const responder = llmResponderFromEnv(
    { LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'bench', LLM_API_KEY: KEY },
    { log: memoryTelemetry().log, secrets: (sources) => resolveSecrets(sources, async () => '') },
  );
  const rows: [string, number, number, number][] = [];
  for (const paragraphs of [1, 3, 6]) {
    const text = Array.from(
      { length: paragraphs },
      (_, p) => `Paragraph ${p} has a dozen words or so, as chat replies do.`,
    ).join('\n\n');
    fake.inject({ chunks: text.match(/\S+\s*/g) ?? [], chunkDelayMs: 25 });
    const event = {
      channel: 'messenger' as const,
      kind: 'message' as const,
      pageId: 'P',
      psid: 'U',
      timestamp: 0,
      eventId: 'e',
      attachments: [],
      text: 'hi',
    };
    const t0 = performance.now();
    const output = await responder(event, { events: [event], signal: new AbortController().signal });
    let first = Number.NaN;
    let bubbles = 0;
    if (Symbol.asyncIterator in output)
      for await (const _ of output) {
        if (bubbles++ === 0) first = performance.now() - t0;
      }
    rows.push([`${paragraphs} paragraph(s)`, bubbles, first, performance.now() - t0]);
  }
  return {
    title: 'What the user gets: first bubble vs end of stream (25 ms per word-chunk, ≈ 40 tokens/s)',
    columns: ['answer', 'bubbles', 'first bubble ms', 'stream end ms'],
    rows,
    notes: ['The first bubble can be paced and typed while the model writes the rest (issue #12 item 5).'],
  };
};

/** The splitter on a realistic answer (six paragraphs, one word per delta) against only joining the deltas. */
const splitterTable = (): Table => {
  const paragraph = 'A reply paragraph of about twenty words, the way a chat model writes one, ending here.';
  const deltas =
    Array.from({ length: 6 }, () => paragraph)
      .join('\n\n')
      .match(/\S+\s*/g) ?? [];
  const results = interleave([
    {
      name: 'split',
      op: () => {
        const splitter = bubbleSplitter(1000);
        let n = 0;
        for (const d of deltas) n += splitter.push(d).length;
        return n + splitter.end().length;
      },
    },
    { name: 'join only', op: () => deltas.reduce((all, d) => all + d, '').length },
  ]);
  return {
    title: `Bubble splitter: cost per streamed delta (${deltas.length} deltas, 6 bubbles)`,
    columns: ['variant', 'ns per delta', 'answers/s'],
    rows: results.map((r) => [r.name, r.nsPerOp.p50 / deltas.length, r.opsPerSec]),
    notes: [
      'Interleaved rounds (bench/support/stats.ts); each delta re-scans the paragraph in progress (at most LLM_MAX_BUBBLE_CHARS).',
    ],
  };
};

export const bench: Bench = {
  title: 'LLM responder: openai package vs a fetch SSE reader (size, import, streaming), first bubble',
  run: async () => {
    const tables = [await sizeAndImportTable(), splitterTable()];
    const chunks = Array.from({ length: 300 }, (_, i) => `w${i} `);
    const fake = await startOpenAiFake({ apiKey: KEY, answer: () => ({ chunks }) });
    try {
      tables.push(await streamTable(fake), await firstBubbleTable(fake));
    } finally {
      await fake.stop();
    }
    return { tables };
  },
};
