/**
 * The conversation state (lib/platform/conversation-state.ts) in the state table: item {pk: `user:…`,
 * expiresAt (the TTL attribute), silentThrough, reason, personAt, lastBotAt}. Webhook, responder, sender and
 * console write different attributes of one item at any moment, so every write is an UpdateItem of its own
 * attributes (never a PutItem of the whole record, which would lose another function's write), and a hold
 * only ever lengthens the silence: a condition keeps the later one (DynamoDB Developer Guide, condition
 * expressions). Its own module so a function without a table never loads the DynamoDB client.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { ConversationState, Hold, UserRecord } from './conversation-state.ts';
import { keyOf, STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE } from './ledger.ts';
import { readStateItem } from './state-table.ts';

/** One record per (account, user): the group id already names both. */
export const userStateKey = (groupId: string): string => keyOf('user', groupId, '');

const num = (value: number): AttributeValue => ({ N: String(value) });
const numberOf = (item: Record<string, AttributeValue>, name: string): number | undefined => {
  const n = Number(item[name]?.N);
  return item[name]?.N !== undefined && Number.isFinite(n) ? n : undefined;
};

const recordOf = (item: Record<string, AttributeValue> | undefined): UserRecord => {
  if (item === undefined) return {};
  const reason = item.reason?.S;
  const known =
    reason === 'person' || reason === 'routing' || reason === 'operator' || reason === 'recipient';
  const fields = {
    silentThrough: numberOf(item, 'silentThrough'),
    personAt: numberOf(item, 'personAt'),
    lastBotAt: numberOf(item, 'lastBotAt'),
    lastInboundAt: numberOf(item, 'lastInboundAt'),
  };
  return {
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
    ...(known && { reason }),
  };
};

type Update = {
  set: Record<string, AttributeValue>;
  condition?: string;
  values?: Record<string, AttributeValue>;
};

export const dynamoConversationState = (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
  options: { ttlSeconds: number; now?: () => number },
): ConversationState => {
  const now = options.now ?? Date.now;
  const update = async (groupId: string, { set, condition, values }: Update): Promise<void> => {
    const all = { ...set, [STATE_TABLE_TTL_ATTRIBUTE]: num(Math.floor(now() / 1000) + options.ttlSeconds) };
    const names = Object.fromEntries(Object.keys(all).map((k, i) => [`#a${i}`, k]));
    const assignments = Object.keys(all).map((_, i) => `#a${i} = :v${i}`);
    const attributeValues = Object.fromEntries(Object.values(all).map((v, i) => [`:v${i}`, v]));
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [STATE_TABLE_KEY]: { S: userStateKey(groupId) } },
        UpdateExpression: `SET ${assignments.join(', ')}`,
        ExpressionAttributeNames: { ...names, ...(condition && { '#st': 'silentThrough' }) },
        ExpressionAttributeValues: { ...attributeValues, ...values },
        ...(condition && { ConditionExpression: condition }),
      }),
    );
  };
  return {
    read: async (groupId) => recordOf(await readStateItem(client, tableName, userStateKey(groupId), now)),
    hold: (groupId, hold) => holdIn(update, groupId, hold),
    release: (groupId, at) => update(groupId, { set: { silentThrough: num(at) } }),
    botSpoke: (groupId, at) => update(groupId, { set: { lastBotAt: num(at) } }),
    // One SET, no read: a user's messages reach the webhook in order but for a few ms of skew.
    userWrote: (groupId, at) => update(groupId, { set: { lastInboundAt: num(at) } }),
  };
};

/** The longer silence wins; a shorter one still records that a person held the chat. */
const holdIn = async (
  update: (groupId: string, u: Update) => Promise<void>,
  groupId: string,
  hold: Hold,
): Promise<void> => {
  const personAt: Record<string, AttributeValue> =
    hold.reason === 'recipient' ? {} : { personAt: num(hold.at) };
  try {
    await update(groupId, {
      set: { silentThrough: num(hold.through), reason: { S: hold.reason }, ...personAt },
      condition: 'attribute_not_exists(#st) OR #st < :through',
      values: { ':through': num(hold.through) },
    });
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    if (hold.reason !== 'recipient') await update(groupId, { set: personAt });
  }
};
