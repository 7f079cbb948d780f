import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ABORT_TABLE_KEY,
  ABORT_TABLE_TTL_ATTRIBUTE,
  abortKey,
  dynamoLedger,
  memoryLedger,
} from '../lib/ledger.ts';

const T0 = 1_700_000_000_000;
const dynamoMock = mockClient(DynamoDBClient);
const dynamo = new DynamoDBClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});

beforeEach(() => dynamoMock.reset());

describe('memoryLedger', () => {
  it('remembers an aborted sequence per group, and nothing else', async () => {
    const ledger = memoryLedger();
    await ledger.markAborted('P:U1', 'seq1');
    expect(await ledger.isAborted('P:U1', 'seq1')).toBe(true);
    expect(await ledger.isAborted('P:U1', 'seq2')).toBe(false);
    expect(await ledger.isAborted('P:U2', 'seq1')).toBe(false);
  });

  it('forgets after its TTL', async () => {
    let now = T0;
    const ledger = memoryLedger({ ttlMs: 1000, now: () => now });
    await ledger.markAborted('g', 's');
    now += 999;
    expect(await ledger.isAborted('g', 's')).toBe(true);
    now += 2;
    expect(await ledger.isAborted('g', 's')).toBe(false);
  });

  it('stays bounded: the oldest entries are evicted first', async () => {
    const ledger = memoryLedger({ maxEntries: 3 });
    for (const s of ['a', 'b', 'c', 'd']) await ledger.markAborted('g', s);
    expect(await ledger.isAborted('g', 'a')).toBe(false);
    for (const s of ['b', 'c', 'd']) expect(await ledger.isAborted('g', s)).toBe(true);
  });

  it('keeps keys of different (group, sequence) pairs apart (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.string({ minLength: 1 }), fc.string({ minLength: 1 })), {
          minLength: 2,
          maxLength: 20,
          selector: ([g, s]) => `${g.length}:${g}${s}`, // distinct pairs, even when one's strings run into the other's
        }),
        async (pairs) => {
          const ledger = memoryLedger();
          const [first, ...rest] = pairs;
          if (!first) return;
          await ledger.markAborted(first[0], first[1]);
          expect(await ledger.isAborted(first[0], first[1])).toBe(true);
          for (const [g, s] of rest) expect(await ledger.isAborted(g, s)).toBe(false);
        },
      ),
    );
  });
});

describe('dynamoLedger', () => {
  it('writes the abort with a TTL attribute in epoch seconds', async () => {
    dynamoMock.on(PutItemCommand).resolves({});
    await dynamoLedger(dynamo, 'aborts', { ttlSeconds: 3600, now: () => T0 }).markAborted('P:U', 'seq');
    expect(dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'aborts',
      Item: {
        [ABORT_TABLE_KEY]: { S: abortKey('P:U', 'seq') },
        [ABORT_TABLE_TTL_ATTRIBUTE]: { N: String(T0 / 1000 + 3600) },
      },
    });
  });

  it('reads consistently, and treats an expired item DynamoDB has not yet deleted as absent', async () => {
    let now = T0;
    dynamoMock.on(GetItemCommand).resolves({
      Item: { [ABORT_TABLE_KEY]: { S: 'k' }, [ABORT_TABLE_TTL_ATTRIBUTE]: { N: String(T0 / 1000 + 10) } },
    });
    const ledger = dynamoLedger(dynamo, 'aborts', { now: () => now });
    now = T0 + 11_000;
    expect(await ledger.isAborted('P:U', 'old')).toBe(false);
    now = T0;
    expect(await ledger.isAborted('P:U', 'fresh')).toBe(true);
    expect(dynamoMock.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'aborts',
      ConsistentRead: true,
      Key: { [ABORT_TABLE_KEY]: { S: abortKey('P:U', 'old') } },
    });
  });

  it('answers "not aborted" for a missing item and asks again next time', async () => {
    dynamoMock.on(GetItemCommand).resolves({});
    const ledger = dynamoLedger(dynamo, 'aborts');
    expect(await ledger.isAborted('P:U', 's')).toBe(false);
    expect(await ledger.isAborted('P:U', 's')).toBe(false);
    expect(dynamoMock.commandCalls(GetItemCommand)).toHaveLength(2);
  });

  it('caches an abort once seen: later steps of the sequence cost no read', async () => {
    dynamoMock.on(GetItemCommand).resolves({
      Item: { [ABORT_TABLE_TTL_ATTRIBUTE]: { N: String(Math.floor(Date.now() / 1000) + 3600) } },
    });
    const ledger = dynamoLedger(dynamo, 'aborts');
    expect(await ledger.isAborted('P:U', 's')).toBe(true);
    expect(await ledger.isAborted('P:U', 's')).toBe(true);
    expect(dynamoMock.commandCalls(GetItemCommand)).toHaveLength(1);
  });

  it('surfaces DynamoDB errors to the caller (the consumer decides to fail open)', async () => {
    dynamoMock.on(GetItemCommand).rejects(new Error('throttled'));
    await expect(dynamoLedger(dynamo, 'aborts').isAborted('P:U', 's')).rejects.toThrow('throttled');
  });
});
