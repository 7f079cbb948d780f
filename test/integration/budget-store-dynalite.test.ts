/**
 * The call budget's shared counter on a DynamoDB implementation (dynalite) with the state table as
 * serverless.yml declares it: many containers taking places in one account-second at once never exceed the
 * ceiling (the conditional UpdateItem is atomic), a 613's saturation is seen by every container, and each
 * counter carries the table's TTL.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE } from '../../lib/platform/ledger.ts';
import { budgetKey, dynamoBudgetStore } from '../../lib/sender/budget-store.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo?.stop();
});

const containers = (n: number) =>
  Promise.all(Array.from({ length: n }, () => dynamoBudgetStore(dynamo.containerClient(), dynamo.tableName)));

describe('the call budget in the state table', () => {
  it('5 containers × 20 concurrent takes against a ceiling of 30: exactly 30 go through', async () => {
    const stores = await containers(5);
    const takes = stores.flatMap((store) =>
      Array.from({ length: 20 }, () => store.take('page-a', 1_800_000_000, { calls: 30 })),
    );
    const taken = (await Promise.all(takes)).filter(Boolean).length;
    expect(taken).toBe(30);
    const item = await dynamo.admin.send(
      new GetItemCommand({
        TableName: dynamo.tableName,
        Key: { [STATE_TABLE_KEY]: { S: budgetKey('page-a', 1_800_000_000) } },
      }),
    );
    expect(item.Item?.calls?.N).toBe('30');
    expect(Number(item.Item?.[STATE_TABLE_TTL_ATTRIBUTE]?.N)).toBe(1_800_000_060);
  });

  it("the message cap binds messages only, and one container's saturation stops every container", async () => {
    const [a, b] = await containers(2);
    if (!a || !b) throw new Error('two containers');
    const second = 1_800_000_100;
    const messages = await Promise.all(
      Array.from({ length: 10 }, () => a.take('page-b', second, { calls: 100, messages: 4 })),
    );
    expect(messages.filter(Boolean)).toHaveLength(4);
    expect(await b.take('page-b', second, { calls: 100 })).toBe(true);
    await a.saturate('page-b', second + 1, 2);
    expect(await b.take('page-b', second + 1, { calls: 100 })).toBe(false);
    expect(await b.take('page-b', second + 2, { calls: 100, messages: 100 })).toBe(false);
    expect(await b.take('page-b', second + 3, { calls: 1 })).toBe(true);
  });
});
