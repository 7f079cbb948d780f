/**
 * The state table: facts a function must remember across its containers, each for a limited time (TTL).
 * One table, one key per fact, a prefix per use:
 * - `abort:` (sender) — a sequence aborted by a permanent Graph failure; its later steps are dropped without
 *   a Graph call. Steps of one user arrive in order, but with batch size 1 each step is its own invocation,
 *   possibly on another container.
 * - `event:` (webhook) — an inbound event whose reply sequence was enqueued; a Meta re-delivery of it is not
 *   answered again. SQS FIFO deduplication covers only 5 minutes (AWS SQS Developer Guide, exactly-once
 *   processing); Meta retries a failed delivery with decreasing frequency for up to 36 hours (Meta,
 *   Webhooks "Event notifications").
 * - `sent:` (sender) — a message step Graph accepted, so its redelivery is not sent again
 *   (lib/sender/sent-steps.ts).
 * Only a shared store (DynamoDB, lib/platform/state-table.ts) remembers across containers; memory serves
 * tests and the local stack. The DynamoDB client is loaded on first use, and only when a table is configured.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Log } from './telemetry.ts';

/** A set of keys, each remembered for the ledger's TTL. */
export type Ledger = {
  has: (key: string) => Promise<boolean>;
  record: (key: string) => Promise<void>;
};

/** A JSON value per key, each remembered for the store's TTL (conversation memory, the reply in flight). */
export type JsonStore<T> = {
  /** The unexpired value, or undefined (none, expired, or written by another version in another shape). */
  load: (key: string) => Promise<T | undefined>;
  /** Replaces the value and restarts its TTL. */
  save: (key: string, value: T) => Promise<void>;
};

/** Per-process JsonStore with the same TTL; the oldest keys go first beyond `maxEntries`; values are copied. */
export const memoryJsonStore = <T>(options: {
  ttlMs: number;
  now?: () => number;
  maxEntries?: number;
}): JsonStore<T> => {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { value: T; expiresAt: number }>();
  return {
    load: async (key) => {
      const entry = entries.get(key);
      return entry === undefined || entry.expiresAt <= now() ? undefined : structuredClone(entry.value);
    },
    save: async (key, value) => {
      entries.delete(key);
      entries.set(key, { value: structuredClone(value), expiresAt: now() + options.ttlMs });
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries) break;
        entries.delete(oldest);
      }
    },
  };
};

/** JSON keeps any pair of strings distinct; the prefix keeps the two uses apart in one table. */
export const keyOf = (prefix: string, a: string, b: string): string => `${prefix}:${JSON.stringify([a, b])}`;

/** One key per (user, sequence); the group id already names page and user. */
export const abortKey = (groupId: string, sequenceId: string): string => keyOf('abort', groupId, sequenceId);

/** One key per inbound event of a page (event ids are mids or hashes of the event's own fields). */
export const eventKey = (pageId: string, eventId: string): string => keyOf('event', pageId, eventId);

/** The table's key and TTL attribute names (serverless.yml StateTable must match). */
export const STATE_TABLE_KEY = 'pk';
export const STATE_TABLE_TTL_ATTRIBUTE = 'expiresAt';

/**
 * Per-container memory: correct within one container only. Bounded: the oldest entries go first, and
 * entries expire after `ttlMs`.
 */
export const memoryLedger = (
  options: { maxEntries?: number; ttlMs?: number; now?: () => number } = {},
): Ledger => {
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = options.ttlMs ?? 86_400_000;
  const now = options.now ?? Date.now;
  const until = new Map<string, number>();
  return {
    has: async (key) => {
      const expiresAt = until.get(key);
      if (expiresAt === undefined) return false;
      if (expiresAt > now()) return true;
      until.delete(key);
      return false;
    },
    record: async (key) => {
      until.delete(key);
      until.set(key, now() + ttlMs);
      while (until.size > maxEntries) {
        const oldest = until.keys().next().value;
        if (oldest === undefined) break;
        until.delete(oldest);
      }
    },
  };
};

/** What each use forgets when no table is configured: logged once, at cold start. */
const volatileWarnings = {
  abort: 'STATE_TABLE_NAME not set: aborted sequences are remembered per container only',
  event:
    'STATE_TABLE_NAME not set: answered events are remembered per container only, so a Meta ' +
    're-delivery more than 5 minutes later that reaches another container is answered again',
} as const;

type LedgerUse = keyof typeof volatileWarnings;

/**
 * The ledger a function uses: DynamoDB when STATE_TABLE_NAME is set, otherwise per-container memory
 * (`durable: false`, announced with a warning naming what `use` then forgets). Both share the TTL.
 */
export const stateLedger = (
  use: LedgerUse,
  options: {
    tableName: string | undefined;
    ttlSeconds: number;
    now: () => number;
    log: Pick<Log, 'warn'>;
    dynamo?: Pick<DynamoDBClient, 'send'> | undefined;
  },
): { ledger: Ledger; durable: boolean } => {
  const { tableName, ttlSeconds, now } = options;
  if (tableName) {
    const durable = async () => {
      const table = await import('./state-table.ts');
      return table.dynamoLedger(options.dynamo ?? table.stateTableClient(), tableName, { ttlSeconds, now });
    };
    return { ledger: loadedOnFirstUse(durable), durable: true };
  }
  options.log.warn(volatileWarnings[use]);
  return { ledger: memoryLedger({ ttlMs: ttlSeconds * 1000, now }), durable: false };
};

/** A ledger built at its first call (a failed build is retried at the next): keeps its module off cold start. */
const loadedOnFirstUse = (build: () => Promise<Ledger>): Ledger => {
  let built: Promise<Ledger> | undefined;
  const ledger = () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
  return {
    has: async (key) => (await ledger()).has(key),
    record: async (key) => (await ledger()).record(key),
  };
};
