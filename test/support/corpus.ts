/**
 * The shared corpus (real webhook bodies and Graph error bodies, see shared/corpus/README.md), read at test
 * time from `<repo>/../shared/corpus` or `$ELLIPSIS_SHARED_DIR/corpus`. Suites skip when it is absent.
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

/** The corpus index; empty lists when the corpus is absent, so `it.each` still has a table. */
export const corpusIndex = (): { webhooks: WebhookEntry[]; graph_errors: GraphErrorEntry[] } =>
  hasCorpus
    ? (JSON.parse(readFileSync(indexFile, 'utf8')) as {
        webhooks: WebhookEntry[];
        graph_errors: GraphErrorEntry[];
      })
    : { webhooks: [], graph_errors: [] };

/** The exact bytes of a corpus file (`file` as index.json names it, relative to corpus/). */
export const corpusFile = (file: string): Buffer => readFileSync(join(corpusDir, file));
