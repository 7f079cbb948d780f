/**
 * The DynamoDB side of the state table (lib/platform/ledger.ts): single-item reads and writes with TTL, the
 * durable ledger, and a client that gives up quickly. Its own module so a function without a table never
 * loads the DynamoDB client (ledger.ts imports this on first use).
 */
import {
  type AttributeValue,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type JsonStore,
  type Ledger,
  memoryLedger,
  STATE_TABLE_KEY,
  STATE_TABLE_TTL_ATTRIBUTE,
} from './ledger.ts';
import type * as z from './zod.ts';

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

/** `json` read back through `schema`; another shape (another version wrote it) is forgotten, not fatal. */
const parseStored = <T>(schema: z.ZodMiniType<T>, json: string | undefined): T | undefined => {
  if (json === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};

/** JsonStore in the state table: item {pk, expiresAt (the TTL attribute), `<attribute>`: the value as JSON}. */
export const dynamoJsonStore = <T>(
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  options: { attribute: string; schema: z.ZodMiniType<T>; ttlSeconds: number; now?: () => number },
): JsonStore<T> => {
  const { attribute, schema, ttlSeconds } = options;
  const now = options.now ?? Date.now;
  return {
    load: async (key) =>
      parseStored(schema, (await readStateItem(client, tableName, key, now))?.[attribute]?.S),
    save: (key, value) =>
      writeStateItem(client, tableName, {
        key,
        ttlSeconds,
        now,
        attributes: { [attribute]: { S: JSON.stringify(value) } },
      }),
  };
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
