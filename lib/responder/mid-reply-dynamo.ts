/**
 * The remembered reply in the state table: item {pk: `reply:…`, expiresAt (epoch s, the TTL attribute),
 * reply (JSON)}, read and written like every state table item (lib/platform/state-table.ts dynamoJsonStore).
 * An item in another shape (another version wrote it) is forgotten: the new turn then just finishes.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoJsonStore } from '../platform/state-table.ts';
import { type ReplyMemory, replyInFlightSchema } from './mid-reply.ts';

export const REPLY_ATTRIBUTE = 'reply';

export const dynamoReplies = (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  options: { ttlSeconds: number; now?: () => number },
): ReplyMemory =>
  dynamoJsonStore(client, tableName, { ...options, attribute: REPLY_ATTRIBUTE, schema: replyInFlightSchema });
