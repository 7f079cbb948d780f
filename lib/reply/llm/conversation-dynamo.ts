/**
 * Conversation memory in the state table: item {pk: `conv:…`, expiresAt (epoch s, the TTL attribute),
 * turns (JSON)}. DynamoDB deletes expired items lazily (up to days later), so a read also compares expiresAt.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE } from '../../platform/ledger.ts';
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
    load: async (key) => {
      const out = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { [STATE_TABLE_KEY]: { S: key } },
          // The previous turn was written moments ago, perhaps by another container.
          ConsistentRead: true,
        }),
      );
      const expiresAt = Number(out.Item?.[STATE_TABLE_TTL_ATTRIBUTE]?.N);
      if (!Number.isFinite(expiresAt) || expiresAt * 1000 <= now()) return [];
      return parseTurns(out.Item?.[TURNS_ATTRIBUTE]?.S);
    },
    save: async (key, turns) => {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            [STATE_TABLE_KEY]: { S: key },
            [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(Math.floor(now() / 1000) + options.ttlSeconds) },
            [TURNS_ATTRIBUTE]: { S: JSON.stringify(turns) },
          },
        }),
      );
    },
  };
};
