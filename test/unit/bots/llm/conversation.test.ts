import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  boundHistory,
  type ConversationTurn,
  conversationKey,
  historyBytes,
  memoryConversations,
} from '../../../../lib/bots/llm/conversation.ts';
import { dynamoConversations, TURNS_ATTRIBUTE } from '../../../../lib/bots/llm/conversation-dynamo.ts';
import { STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE } from '../../../../lib/platform/ledger.ts';
import { fakeStateTable } from '../../../support/state-table.ts';

const T0 = 1_700_000_000_000;
const turn = (n: number, size = 5): ConversationTurn => ({
  user: `question ${n} ${'q'.repeat(size)}`,
  assistant: `answer ${n} ${'a'.repeat(size)}`,
  at: T0 + n,
});

describe('conversation keys', () => {
  it('are prefixed conv: and distinct per (account, user), whatever the ids contain', () => {
    expect(conversationKey('P1', 'U1')).toMatch(/^conv:/);
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (p1, u1, p2, u2) => {
        fc.pre(p1 !== p2 || u1 !== u2);
        expect(conversationKey(p1, u1)).not.toBe(conversationKey(p2, u2));
      }),
    );
  });
});

describe('boundHistory', () => {
  it('keeps the newest N turns, oldest first', () => {
    const turns = [1, 2, 3, 4, 5].map((n) => turn(n));
    expect(boundHistory(turns, 3, 100_000)).toEqual([turn(3), turn(4), turn(5)]);
    expect(boundHistory(turns, 0, 100_000)).toEqual([]);
  });

  it('drops the oldest turns until the JSON fits the byte budget', () => {
    const turns = [1, 2, 3, 4].map((n) => turn(n, 400));
    const kept = boundHistory(turns, 10, 2000);
    expect(kept.map((t) => t.at)).toEqual([T0 + 3, T0 + 4]);
    expect(historyBytes(kept)).toBeLessThanOrEqual(2000);
  });

  it('property: never over the turn count or the byte budget, and always the newest turns', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'é', '字', '😀', '\u0001', '"'), maxLength: 3000 });
    const turnArb = fc.record({ user: text, assistant: text, at: fc.nat() });
    fc.assert(
      fc.property(
        fc.array(turnArb, { maxLength: 30 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1024, max: 50_000 }),
        (turns, maxTurns, maxBytes) => {
          const kept = boundHistory(turns, maxTurns, maxBytes);
          expect(kept.length).toBeLessThanOrEqual(maxTurns);
          expect(historyBytes(kept)).toBeLessThanOrEqual(maxBytes);
          if (turns.length > 0) expect(kept.at(-1)?.at).toBe(turns.at(-1)?.at);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('memory conversations', () => {
  it('remembers per key until the TTL, and each save restarts it', async () => {
    let now = T0;
    const store = memoryConversations({ ttlMs: 60_000, now: () => now });
    await store.save('k', [turn(1)]);
    expect(await store.load('k')).toEqual([turn(1)]);
    expect(await store.load('other')).toEqual([]);
    now += 59_000;
    await store.save('k', [turn(1), turn(2)]);
    now += 59_000;
    expect(await store.load('k')).toEqual([turn(1), turn(2)]);
    now += 1000;
    expect(await store.load('k')).toEqual([]);
  });

  it('forgets the oldest conversation beyond maxEntries', async () => {
    const store = memoryConversations({ ttlMs: 60_000, maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) await store.save(k, [turn(1)]);
    expect(await store.load('a')).toEqual([]);
    expect(await store.load('c')).toEqual([turn(1)]);
  });
});

describe('dynamo conversations', () => {
  it('writes the turns under pk with expiresAt = now + TTL (epoch seconds), and reads them back consistently', async () => {
    const table = fakeStateTable();
    const store = dynamoConversations(table.client, 'state', { ttlSeconds: 3600, now: () => T0 });
    await store.save('conv:x', [turn(1), turn(2)]);
    const item = table.items.get('conv:x');
    expect(item?.[STATE_TABLE_TTL_ATTRIBUTE]?.N).toBe(String(T0 / 1000 + 3600));
    expect(JSON.parse(item?.[TURNS_ATTRIBUTE]?.S ?? '')).toEqual([turn(1), turn(2)]);
    expect(await store.load('conv:x')).toEqual([turn(1), turn(2)]);
    const get = table.commands.find((c) => c instanceof GetItemCommand);
    expect(get?.input).toMatchObject({ TableName: 'state', ConsistentRead: true });
  });

  it('treats an expired item (DynamoDB deletes lazily) and a malformed one as no history', async () => {
    const table = fakeStateTable();
    let now = T0;
    const store = dynamoConversations(table.client, 'state', { ttlSeconds: 60, now: () => now });
    await store.save('conv:x', [turn(1)]);
    now += 60_000;
    expect(await store.load('conv:x')).toEqual([]);
    table.items.set('conv:y', {
      [STATE_TABLE_KEY]: { S: 'conv:y' },
      [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(now / 1000 + 60) },
      [TURNS_ATTRIBUTE]: { S: '{"not":"turns"' },
    });
    expect(await store.load('conv:y')).toEqual([]);
  });
});
