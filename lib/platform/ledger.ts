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
 *   (lib/delivery/sent-steps.ts).
 * Only a shared store (DynamoDB) remembers across containers; memory serves tests and the local stack.
 */
import {
  type AttributeValue,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Log } from './telemetry.ts';

/** A set of keys, each remembered for the ledger's TTL. */
export type Ledger = {
  has: (key: string) => Promise<boolean>;
  record: (key: string) => Promise<void>;
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

export type StateItem = Record<string, AttributeValue>;

/**
 * The unexpired item under `key`, or undefined. DynamoDB deletes expired items lazily (up to days later), so
 * the read compares expiresAt itself; consistent, because the item may have been written moments ago by
 * another invocation (an abort, the previous turn of a conversation).
 */
export const readStateItem = async (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  key: string,
  now: () => number,
): Promise<StateItem | undefined> => {
  const out = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { [STATE_TABLE_KEY]: { S: key } },
      ConsistentRead: true,
    }),
  );
  const expiresAt = Number(out.Item?.[STATE_TABLE_TTL_ATTRIBUTE]?.N);
  return Number.isFinite(expiresAt) && expiresAt * 1000 > now() ? out.Item : undefined;
};

/** Writes `key` (with `attributes`) to expire `ttlSeconds` from now. */
export const writeStateItem = async (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  item: { key: string; ttlSeconds: number; now: () => number; attributes?: StateItem },
): Promise<void> => {
  await client.send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        ...item.attributes,
        [STATE_TABLE_KEY]: { S: item.key },
        [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(Math.floor(item.now() / 1000) + item.ttlSeconds) },
      },
    }),
  );
};

/**
 * DynamoDB-backed ledger: item {pk, expiresAt (epoch seconds, the table's TTL attribute)}. DynamoDB deletes
 * expired items lazily (up to days later), so reads also compare expiresAt. A key seen once is cached in
 * memory for the TTL (neither an abort nor an answer un-happens); "absent" is never cached.
 */
export const dynamoLedger = (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  options: { ttlSeconds?: number; now?: () => number } = {},
): Ledger => {
  const ttlSeconds = options.ttlSeconds ?? 86_400;
  const now = options.now ?? Date.now;
  const seen = memoryLedger({ ttlMs: ttlSeconds * 1000, now });
  return {
    has: async (key) => {
      if (await seen.has(key)) return true;
      const present = (await readStateItem(client, tableName, key, now)) !== undefined;
      if (present) await seen.record(key);
      return present;
    },
    record: async (key) => {
      await seen.record(key);
      await writeStateItem(client, tableName, { key, ttlSeconds, now });
    },
  };
};

/**
 * A DynamoDB client whose calls give up quickly: both callers fail open when the ledger cannot answer, and a
 * read that hangs would instead hold a webhook response (Meta re-delivers, API Gateway answers 5xx) or a
 * sender invocation (billed) until the function times out. DynamoDB answers single-item calls in
 * milliseconds; the SDK reads AWS_REGION and AWS_ENDPOINT_URL_DYNAMODB itself.
 */
export const stateTableClient = (config: DynamoDBClientConfig = {}): DynamoDBClient =>
  new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 500, requestTimeout: 1000, throwOnRequestTimeout: true },
    ...config,
  });

/** What each use forgets when no table is configured: logged once, at cold start. */
const volatileWarnings = {
  abort: 'STATE_TABLE_NAME not set: aborted sequences are remembered per container only',
  event:
    'STATE_TABLE_NAME not set: answered events are remembered per container only, so a Meta ' +
    're-delivery more than 5 minutes later that reaches another container is answered again',
} as const;

export type LedgerUse = keyof typeof volatileWarnings;

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
    return {
      ledger: dynamoLedger(options.dynamo ?? stateTableClient(), tableName, { ttlSeconds, now }),
      durable: true,
    };
  }
  options.log.warn(volatileWarnings[use]);
  return { ledger: memoryLedger({ ttlMs: ttlSeconds * 1000, now }), durable: false };
};
