import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  abortKey,
  eventKey,
  memoryLedger,
  STATE_TABLE_KEY,
  STATE_TABLE_TTL_ATTRIBUTE,
  stateLedger,
} from '../../../lib/platform/ledger.ts';
import { dynamoLedger, stateTableClient } from '../../../lib/platform/state-table.ts';

const T0 = 1_700_000_000_000;
const HOUR = 3600;
const dynamoMock = mockClient(DynamoDBClient);
const dynamo = new DynamoDBClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});

beforeEach(() => dynamoMock.reset());

describe('ledger keys', () => {
  it('prefix each use, so aborts and answered events share one table without meeting', () => {
    expect(abortKey('P:U', 'm_1')).toMatch(/^abort:/);
    expect(eventKey('P', 'm_1')).toMatch(/^event:/);
  });

  it('keep every (a, b) pair of every use distinct (property)', () => {
    // Tiny separator-heavy alphabet, many pairs: a naive `a:b` join collides here (`a:` + `` vs `a` + `:`).
    const part = fc.string({ unit: fc.constantFrom(':', '"', 'a'), maxLength: 2 });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(part, part), {
          minLength: 1,
          maxLength: 80,
          selector: (p) => JSON.stringify(p),
        }),
        (pairs) => {
          const keys = pairs.flatMap(([a, b]) => [abortKey(a, b), eventKey(a, b)]);
          expect(new Set(keys).size).toBe(2 * pairs.length);
        },
      ),
    );
  });
});

describe('memoryLedger', () => {
  it('remembers a recorded key, and nothing else', async () => {
    const ledger = memoryLedger();
    await ledger.record(abortKey('P:U1', 'seq1'));
    expect(await ledger.has(abortKey('P:U1', 'seq1'))).toBe(true);
    expect(await ledger.has(abortKey('P:U1', 'seq2'))).toBe(false);
    expect(await ledger.has(abortKey('P:U2', 'seq1'))).toBe(false);
    expect(await ledger.has(eventKey('P', 'seq1'))).toBe(false);
  });

  it('forgets after its TTL', async () => {
    let now = T0;
    const ledger = memoryLedger({ ttlMs: 1000, now: () => now });
    await ledger.record('k');
    now += 999;
    expect(await ledger.has('k')).toBe(true);
    now += 2;
    expect(await ledger.has('k')).toBe(false);
  });

  it('stays bounded: the oldest entries are evicted first', async () => {
    const ledger = memoryLedger({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c', 'd']) await ledger.record(k);
    expect(await ledger.has('a')).toBe(false);
    for (const k of ['b', 'c', 'd']) expect(await ledger.has(k)).toBe(true);
  });

  it('answers exactly for the keys recorded (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.string({ minLength: 1 }), fc.string({ minLength: 1 })), {
          minLength: 2,
          maxLength: 20,
          selector: ([g, s]) => JSON.stringify([g, s]),
        }),
        fc.nat(),
        async (pairs, cut) => {
          const ledger = memoryLedger();
          const recorded = pairs.slice(0, 1 + (cut % (pairs.length - 1)));
          for (const [g, s] of recorded) await ledger.record(abortKey(g, s));
          for (const [g, s] of pairs) {
            expect(await ledger.has(abortKey(g, s))).toBe(recorded.some(([rg, rs]) => rg === g && rs === s));
          }
        },
      ),
    );
  });
});

describe('dynamoLedger', () => {
  it('writes an abort with a TTL attribute in epoch seconds', async () => {
    dynamoMock.on(PutItemCommand).resolves({});
    await dynamoLedger(dynamo, 'state', { ttlSeconds: HOUR, now: () => T0 }).record(abortKey('P:U', 'seq'));
    expect(dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'state',
      Item: {
        [STATE_TABLE_KEY]: { S: abortKey('P:U', 'seq') },
        [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(T0 / 1000 + HOUR) },
      },
    });
  });

  it('records an answered event under its event key and finds it 47 hours later on another container', async () => {
    let now = T0;
    const stored = new Map<string, Record<string, { S?: string; N?: string }>>();
    dynamoMock.on(PutItemCommand).callsFake((input) => {
      stored.set(input.Item[STATE_TABLE_KEY].S, input.Item);
      return {};
    });
    dynamoMock.on(GetItemCommand).callsFake((input) => ({ Item: stored.get(input.Key[STATE_TABLE_KEY].S) }));
    const options = { ttlSeconds: 48 * HOUR, now: () => now };
    await dynamoLedger(dynamo, 'state', options).record(eventKey('P', 'm_1'));
    expect([...stored.keys()]).toEqual([eventKey('P', 'm_1')]);
    expect(stored.get(eventKey('P', 'm_1'))?.[STATE_TABLE_TTL_ATTRIBUTE]).toEqual({
      N: String(T0 / 1000 + 48 * HOUR),
    });
    now = T0 + 47 * HOUR * 1000;
    const otherContainer = dynamoLedger(dynamo, 'state', options);
    expect(await otherContainer.has(eventKey('P', 'm_1'))).toBe(true);
    expect(await otherContainer.has(eventKey('P', 'm_2'))).toBe(false);
    expect(await otherContainer.has(abortKey('P', 'm_1'))).toBe(false);
  });

  it('reads consistently, and treats an expired item DynamoDB has not yet deleted as absent', async () => {
    let now = T0;
    dynamoMock.on(GetItemCommand).resolves({
      Item: { [STATE_TABLE_KEY]: { S: 'k' }, [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(T0 / 1000 + 10) } },
    });
    const ledger = dynamoLedger(dynamo, 'state', { now: () => now });
    now = T0 + 11_000;
    expect(await ledger.has(eventKey('P', 'old'))).toBe(false);
    now = T0;
    expect(await ledger.has(eventKey('P', 'fresh'))).toBe(true);
    expect(dynamoMock.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'state',
      ConsistentRead: true,
      Key: { [STATE_TABLE_KEY]: { S: eventKey('P', 'old') } },
    });
  });

  it('answers "absent" for a missing item and asks again next time', async () => {
    dynamoMock.on(GetItemCommand).resolves({});
    const ledger = dynamoLedger(dynamo, 'state');
    expect(await ledger.has('k')).toBe(false);
    expect(await ledger.has('k')).toBe(false);
    expect(dynamoMock.commandCalls(GetItemCommand)).toHaveLength(2);
  });

  it('caches a key once seen or recorded: asking again costs no read', async () => {
    dynamoMock.on(GetItemCommand).resolves({
      Item: { [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(Math.floor(Date.now() / 1000) + HOUR) } },
    });
    dynamoMock.on(PutItemCommand).resolves({});
    const ledger = dynamoLedger(dynamo, 'state');
    expect(await ledger.has('seen')).toBe(true);
    expect(await ledger.has('seen')).toBe(true);
    await ledger.record('written');
    expect(await ledger.has('written')).toBe(true);
    expect(dynamoMock.commandCalls(GetItemCommand)).toHaveLength(1);
  });

  it('surfaces DynamoDB errors to the caller (the sender and the webhook decide to fail open)', async () => {
    dynamoMock.on(GetItemCommand).rejects(new Error('throttled'));
    dynamoMock.on(PutItemCommand).rejects(new Error('throttled'));
    await expect(dynamoLedger(dynamo, 'state').has('k')).rejects.toThrow('throttled');
    await expect(dynamoLedger(dynamo, 'state').record('k')).rejects.toThrow('throttled');
  });
});

describe('stateLedger', () => {
  it('loads the DynamoDB side at first use: no call before it, a failed call does not stick', async () => {
    let calls = 0;
    const flaky = {
      send: async () => {
        calls += 1;
        if (calls === 1) throw new Error('no route to DynamoDB');
        return {};
      },
    } as unknown as Pick<DynamoDBClient, 'send'>;
    const { ledger, durable } = stateLedger('abort', {
      tableName: 'state',
      ttlSeconds: 60,
      now: () => T0,
      dynamo: flaky,
      log: { warn: () => {} },
    });
    expect(durable).toBe(true);
    expect(calls).toBe(0);
    await expect(ledger.has('k')).rejects.toThrow('no route');
    expect(await ledger.has('k')).toBe(false);
    expect(calls).toBe(2);
  });

  it('uses the table when STATE_TABLE_NAME is given, with the caller TTL', async () => {
    dynamoMock.on(PutItemCommand).resolves({});
    const warnings: string[] = [];
    const { ledger, durable } = stateLedger('event', {
      tableName: 'state',
      ttlSeconds: 48 * HOUR,
      now: () => T0,
      dynamo,
      log: { warn: (message) => warnings.push(message) },
    });
    expect(durable).toBe(true);
    expect(warnings).toEqual([]);
    await ledger.record(eventKey('P', 'm_1'));
    expect(dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'state',
      Item: { [STATE_TABLE_TTL_ATTRIBUTE]: { N: String(T0 / 1000 + 48 * HOUR) } },
    });
  });

  it('falls back to per-container memory with the same TTL, and says so', async () => {
    let now = T0;
    const warnings: string[] = [];
    const { ledger, durable } = stateLedger('abort', {
      tableName: undefined,
      ttlSeconds: 60,
      now: () => now,
      dynamo,
      log: { warn: (message) => warnings.push(message) },
    });
    expect(durable).toBe(false);
    expect(warnings).toEqual([
      expect.stringMatching(/^STATE_TABLE_NAME not set: aborted .* per container only$/),
    ]);
    await ledger.record('k');
    now += 59_000;
    expect(await ledger.has('k')).toBe(true);
    now += 2000;
    expect(await ledger.has('k')).toBe(false);
    expect(dynamoMock.calls()).toHaveLength(0);
  });
});

describe('stateTableClient', () => {
  it('gives up on a DynamoDB that never answers, so the caller can fail open before its own timeout', async () => {
    const held: ServerResponse[] = [];
    const server: Server = createServer((_req, res) => {
      held.push(res); // accept the request, never answer
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dynamoMock.restore(); // a real client against a real socket; this is the file's last test for that reason
    const client = stateTableClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    try {
      await expect(dynamoLedger(client, 'state').has('k')).rejects.toThrow();
      expect(held.length).toBe(2); // maxAttempts: one retry, then the error
    } finally {
      client.destroy();
      for (const res of held) res.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 15_000);
});
