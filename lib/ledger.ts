/**
 * Which sequences were aborted by a permanent Graph failure, so their later steps are dropped without a
 * Graph call. Steps of one user arrive in order (FIFO group), but with batch size 1 each step is its own
 * invocation, possibly on another container: only a shared store (DynamoDB) remembers across containers.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';

export type AbortLedger = {
  isAborted: (groupId: string, sequenceId: string) => Promise<boolean>;
  markAborted: (groupId: string, sequenceId: string) => Promise<void>;
};

/** One key per (user, sequence); the group id already names page and user. JSON keeps any pair distinct. */
export const abortKey = (groupId: string, sequenceId: string): string =>
  JSON.stringify([groupId, sequenceId]);

/** The table's key and TTL attribute names (serverless.yml AbortTable must match). */
export const ABORT_TABLE_KEY = 'pk';
export const ABORT_TABLE_TTL_ATTRIBUTE = 'expiresAt';

/**
 * Per-container memory: correct within one container only (a later step polled by another container is
 * sent). Bounded: the oldest entries go first, and entries expire after `ttlMs`.
 */
export const memoryLedger = (
  options: { maxEntries?: number; ttlMs?: number; now?: () => number } = {},
): AbortLedger => {
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = options.ttlMs ?? 86_400_000;
  const now = options.now ?? Date.now;
  const abortedUntil = new Map<string, number>();
  return {
    isAborted: async (groupId, sequenceId) => {
      const key = abortKey(groupId, sequenceId);
      const until = abortedUntil.get(key);
      if (until === undefined) return false;
      if (until > now()) return true;
      abortedUntil.delete(key);
      return false;
    },
    markAborted: async (groupId, sequenceId) => {
      const key = abortKey(groupId, sequenceId);
      abortedUntil.delete(key);
      abortedUntil.set(key, now() + ttlMs);
      while (abortedUntil.size > maxEntries) {
        const oldest = abortedUntil.keys().next().value;
        if (oldest === undefined) break;
        abortedUntil.delete(oldest);
      }
    },
  };
};

/**
 * DynamoDB-backed ledger: item {pk, expiresAt (epoch seconds, the table's TTL attribute)}. DynamoDB deletes
 * expired items lazily (up to days later), so reads also compare expiresAt. An abort seen once is cached in
 * memory for the container's life (aborts never un-happen); "not aborted" is never cached.
 */
export const dynamoLedger = (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  options: { ttlSeconds?: number; now?: () => number } = {},
): AbortLedger => {
  const ttlSeconds = options.ttlSeconds ?? 86_400;
  const now = options.now ?? Date.now;
  const seen = memoryLedger({ ttlMs: ttlSeconds * 1000, now });
  return {
    isAborted: async (groupId, sequenceId) => {
      if (await seen.isAborted(groupId, sequenceId)) return true;
      const out = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { [ABORT_TABLE_KEY]: { S: abortKey(groupId, sequenceId) } },
          // The abort was written by another invocation moments ago: an eventually consistent read could miss it.
          ConsistentRead: true,
        }),
      );
      const expiresAt = Number(out.Item?.[ABORT_TABLE_TTL_ATTRIBUTE]?.N);
      const aborted = Number.isFinite(expiresAt) && expiresAt * 1000 > now();
      if (aborted) await seen.markAborted(groupId, sequenceId);
      return aborted;
    },
    markAborted: async (groupId, sequenceId) => {
      await seen.markAborted(groupId, sequenceId);
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            [ABORT_TABLE_KEY]: { S: abortKey(groupId, sequenceId) },
            [ABORT_TABLE_TTL_ATTRIBUTE]: { N: String(Math.floor(now() / 1000) + ttlSeconds) },
          },
        }),
      );
    },
  };
};
