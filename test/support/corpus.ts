/**
 * The shared corpus (real webhook bodies and Graph error bodies, see shared/corpus/README.md), read at test
 * time from `<repo>/../shared/corpus` or `$ELLIPSIS_SHARED_DIR/corpus`. Where it is absent its suites are
 * skipped with as many tests as would have run (placeholder entries, CORPUS_ENTRIES of them), so the closing
 * count shows what did not run; under CI=true, where the corpus is always there, test/run.ts fails the run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const corpusDir = join(
  process.env.ELLIPSIS_SHARED_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared'),
  'corpus',
);

const indexFile = join(corpusDir, 'index.json');

export const hasCorpus = existsSync(indexFile);

/** index.json `webhooks[]`: one POST body and how many reply sequences it must produce. */
export type WebhookEntry = {
  file: string;
  expected: string;
  min_replies: number;
  max_replies: number;
  sha256: string;
};

/** index.json `graph_errors[]`: one Graph error body, its HTTP status (null → 400) and expected handling. */
export type GraphErrorEntry = {
  file: string;
  http_status: number | null;
  code: number;
  error_subcode?: number | null;
  retry: boolean;
  classification: string;
  sha256: string;
};

export type CorpusIndex = { webhooks: WebhookEntry[]; graph_errors: GraphErrorEntry[] };

/**
 * How many entries index.json lists. Only used to count the skipped tests when the corpus is absent; the
 * corpus suites check it against index.json whenever the corpus is there, so it cannot drift unnoticed.
 */
export const CORPUS_ENTRIES = { webhooks: 91, graph_errors: 28 } as const;

/** `title`, saying why it is skipped when the corpus is absent. */
export const corpusSuiteTitle = (title: string): string =>
  hasCorpus ? title : `${title} (skipped: no corpus at ${corpusDir}; set ELLIPSIS_SHARED_DIR)`;

const missing = (kind: keyof CorpusIndex, i: number) => `${kind}/#${i + 1} (corpus not found)`;

/** Stand-ins for absent entries: they only name skipped tests (a suite that ran one would fail to read it). */
const placeholders = (): CorpusIndex => ({
  webhooks: Array.from({ length: CORPUS_ENTRIES.webhooks }, (_, i) => ({
    file: missing('webhooks', i),
    expected: 'unknown',
    min_replies: 0,
    max_replies: 0,
    sha256: '',
  })),
  graph_errors: Array.from({ length: CORPUS_ENTRIES.graph_errors }, (_, i) => ({
    file: missing('graph_errors', i),
    http_status: null,
    code: 0,
    retry: false,
    classification: 'unknown',
    sha256: '',
  })),
});

/** The corpus index; placeholder entries when the corpus is absent (suites skip them: `describe.skipIf`). */
export const corpusIndex = (): CorpusIndex =>
  hasCorpus ? (JSON.parse(readFileSync(indexFile, 'utf8')) as CorpusIndex) : placeholders();

/** The exact bytes of a corpus file (`file` as index.json names it, relative to corpus/). */
export const corpusFile = (file: string): Buffer => readFileSync(join(corpusDir, file));
