/**
 * Per-account call budgets, the state: one counter per account per second, shared by every sender
 * instance through the state table (a conditional UpdateItem: the count rises only while it is under the
 * step's ceiling, atomically — DynamoDB Developer Guide, "Condition expressions" / atomic counters), or kept
 * in memory for tests, the local stack and a deployment without a table (then each container counts only
 * its own calls). The decisions are budget.ts's; this module only counts.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { keyOf, STATE_TABLE_KEY, STATE_TABLE_TTL_ATTRIBUTE } from '../platform/ledger.ts';
import type { StateItem } from '../platform/state-table.ts';
import type { TakeCeiling } from './budget.ts';

export type BudgetStore = {
  /**
   * Counts one call (and one message when `ceiling.messages` is set) in the account's second `window` when
   * the counts stay within `ceiling`; false (nothing counted) when the second is full for it.
   */
  take: (account: string, window: number, ceiling: TakeCeiling) => Promise<boolean>;
  /** Marks the account's seconds [window, window + seconds) full: Graph said it is over its rate. */
  saturate: (account: string, window: number, seconds: number) => Promise<void>;
};

/** Above any ceiling: a saturated second refuses every take. */
const FULL = 1_000_000;
/** A second's counter is needed for that second only; a minute keeps the table's TTL sweep cheap. */
const WINDOW_TTL_SECONDS = 60;

export const budgetKey = (account: string, window: number): string =>
  keyOf('budget', account, String(window));

type Counts = { calls: number; messages: number };

const fits = (counts: Counts, ceiling: TakeCeiling): boolean =>
  counts.calls < ceiling.calls && (ceiling.messages === undefined || counts.messages < ceiling.messages);

/** In-process counters; windows older than the current one are dropped as time moves on. */
export const memoryBudgetStore = (): BudgetStore => {
  const windows = new Map<string, Counts & { window: number }>();
  const countsOf = (account: string, window: number) => {
    const key = budgetKey(account, window);
    let counts = windows.get(key);
    if (!counts) {
      for (const [k, old] of windows) if (old.window < window - 1) windows.delete(k);
      counts = { window, calls: 0, messages: 0 };
      windows.set(key, counts);
    }
    return counts;
  };
  return {
    take: async (account, window, ceiling) => {
      const counts = countsOf(account, window);
      if (!fits(counts, ceiling)) return false;
      counts.calls += 1;
      if (ceiling.messages !== undefined) counts.messages += 1;
      return true;
    },
    saturate: async (account, window, seconds) => {
      for (let w = window; w < window + seconds; w += 1) Object.assign(countsOf(account, w), { calls: FULL });
    },
  };
};

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** Condition and update of one take: ADD to the counters only while each is under its ceiling. */
const takeExpressions = (ceiling: TakeCeiling) => {
  const withMessages = ceiling.messages !== undefined;
  const values: StateItem = withMessages ? { ':messages': { N: String(ceiling.messages) } } : {};
  return {
    UpdateExpression: `ADD calls :one${withMessages ? ', messages :one' : ''} SET #ttl = :ttl`,
    ConditionExpression:
      '(attribute_not_exists(calls) OR calls < :calls)' +
      (withMessages ? ' AND (attribute_not_exists(messages) OR messages < :messages)' : ''),
    values,
  };
};

/** The state-table counters: one item per account-second, {pk, calls, messages, expiresAt}. */
export const dynamoBudgetStore = async (
  client: Pick<DynamoDBClient, 'send'>,
  tableName: string,
): Promise<BudgetStore> => {
  const { UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
  const item = (account: string, window: number) => ({
    TableName: tableName,
    Key: { [STATE_TABLE_KEY]: { S: budgetKey(account, window) } },
    ExpressionAttributeNames: { '#ttl': STATE_TABLE_TTL_ATTRIBUTE },
  });
  const ttl = (window: number) => ({ N: String(window + WINDOW_TTL_SECONDS) });
  return {
    take: async (account, window, ceiling) => {
      const { values, ...expressions } = takeExpressions(ceiling);
      const command = new UpdateItemCommand({
        ...item(account, window),
        ...expressions,
        ExpressionAttributeValues: {
          ':one': { N: '1' },
          ':calls': { N: String(ceiling.calls) },
          ':ttl': ttl(window),
          ...values,
        },
      });
      try {
        await client.send(command);
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
    saturate: async (account, window, seconds) => {
      const writes = Array.from({ length: seconds }, (_, i) =>
        client.send(
          new UpdateItemCommand({
            ...item(account, window + i),
            UpdateExpression: 'SET calls = :full, #ttl = :ttl',
            ExpressionAttributeValues: { ':full': { N: String(FULL) }, ':ttl': ttl(window + i) },
          }),
        ),
      );
      await Promise.all(writes);
    },
  };
};

/** The store a container uses: the state table when one is configured, else its own memory. */
export const stateBudgetStore = (options: {
  tableName: string | undefined;
  dynamo?: Pick<DynamoDBClient, 'send'> | undefined;
}): BudgetStore => {
  const { tableName } = options;
  if (!tableName) return memoryBudgetStore();
  let built: Promise<BudgetStore> | undefined;
  const store = () => {
    built ??= (async () => {
      const client = options.dynamo ?? (await import('../platform/state-table.ts')).stateTableClient();
      return dynamoBudgetStore(client, tableName);
    })().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
  return {
    take: async (...args) => (await store()).take(...args),
    saturate: async (...args) => (await store()).saturate(...args),
  };
};
