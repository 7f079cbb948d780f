/**
 * Conversation memory in the state table: item {pk: `conv:…`, expiresAt (epoch s, the TTL attribute),
 * turns (JSON)}, read and written like every state table item (lib/platform/state-table.ts dynamoJsonStore).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoJsonStore } from '../../platform/state-table.ts';
import { type ConversationStore, conversationSchema, conversationsIn } from './conversation.ts';

export const TURNS_ATTRIBUTE = 'turns';

export const dynamoConversations = (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  options: { ttlSeconds: number; now?: () => number },
): ConversationStore =>
  conversationsIn(
    dynamoJsonStore(client, tableName, {
      ...options,
      attribute: TURNS_ATTRIBUTE,
      schema: conversationSchema,
    }),
  );
