/**
 * The remembered reply in the state table: item {pk: `reply:…`, expiresAt (epoch s, the TTL attribute),
 * reply (JSON)}, read and written like every state table item (lib/platform/state-table.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readStateItem, writeStateItem } from '../platform/state-table.ts';
import { type ReplyInFlight, type ReplyMemory, replyInFlightSchema } from './mid-reply.ts';

export const REPLY_ATTRIBUTE = 'reply';

/** An item in another shape (another version wrote it) is forgotten: the new turn then just finishes. */
const parseReply = (json: string | undefined): ReplyInFlight | undefined => {
  if (json === undefined) return undefined;
  try {
    const parsed = replyInFlightSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};

export const dynamoReplies = (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  options: { ttlSeconds: number; now?: () => number },
): ReplyMemory => {
  const now = options.now ?? Date.now;
  return {
    load: async (key) => parseReply((await readStateItem(client, tableName, key, now))?.[REPLY_ATTRIBUTE]?.S),
    save: (key, reply) =>
      writeStateItem(client, tableName, {
        key,
        ttlSeconds: options.ttlSeconds,
        now,
        attributes: { [REPLY_ATTRIBUTE]: { S: JSON.stringify(reply) } },
      }),
  };
};
