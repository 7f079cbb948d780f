/**
 * Conversation memory in the state table: item {pk: `conv:…`, expiresAt (epoch s, the TTL attribute),
 * turns (JSON)}, read and written like every state table item (lib/platform/ledger.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readStateItem, writeStateItem } from '../../platform/state-table.ts';
import { type ConversationStore, conversationSchema } from './conversation.ts';

export const TURNS_ATTRIBUTE = 'turns';

const parseTurns = (json: string | undefined) => {
  if (json === undefined) return [];
  try {
    const parsed = conversationSchema.safeParse(JSON.parse(json));
    // An item written by another version in another shape is forgotten, not fatal: the user still gets an answer.
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
};

export const dynamoConversations = (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  options: { ttlSeconds: number; now?: () => number },
): ConversationStore => {
  const now = options.now ?? Date.now;
  return {
    load: async (key) => parseTurns((await readStateItem(client, tableName, key, now))?.[TURNS_ATTRIBUTE]?.S),
    save: (key, turns) =>
      writeStateItem(client, tableName, {
        key,
        ttlSeconds: options.ttlSeconds,
        now,
        attributes: { [TURNS_ATTRIBUTE]: { S: JSON.stringify(turns) } },
      }),
  };
};
