import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  type BatchReport,
  BatchResponseError,
  type EventSourceMapping,
  recordsToDelete,
  type SqsHandler,
  startEventSourceMapping,
} from '../../../local/esm.ts';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs.ts';
import { until } from '../../support/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const setup = async (visibilityTimeoutSeconds = 1) => {
  const sqs = await startLocalSqs({ visibilityTimeoutSeconds });
  cleanups.push(sqs.stop);
  return sqs;
};

const map = (
  sqs: LocalSqs,
  handler: SqsHandler,
  options: { batchSize?: number; maxConcurrency?: number; functionTimeoutMs?: number } = {},
) => {
  const reports: BatchReport[] = [];
  const esm: EventSourceMapping = startEventSourceMapping({
    client: sqs.client,
    queueUrl: sqs.queueUrl,
    queueArn: sqs.queueArn,
    region: sqs.region,
    handler,
    batchSize: options.batchSize ?? 1,
    maxConcurrency: options.maxConcurrency ?? 1,
    waitTimeSeconds: 1,
    ...(options.functionTimeoutMs === undefined ? {} : { functionTimeoutMs: options.functionTimeoutMs }),
    onBatch: (r) => reports.push(r),
  });
  cleanups.push(esm.stop);
  return { esm, reports };
};

const send = (sqs: LocalSqs, body: string, group: string) =>
  sqs.client.send(
    new SendMessageCommand({
      QueueUrl: sqs.queueUrl,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: `${group}:${body}`,
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'step' } },
    }),
  );

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

const record = (messageId: string, group: string): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body: '',
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '0',
    SenderId: 'x',
    ApproximateFirstReceiveTimestamp: '0',
    MessageGroupId: group,
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn',
  awsRegion: 'us-east-1',
});

describe('recordsToDelete (partial batch responses)', () => {
  const batch = [record('a1', 'a'), record('b1', 'b'), record('a2', 'a')];

  test.each([undefined, null, {}, { batchItemFailures: [] }, { batchItemFailures: null }])(
    'treats %j as complete success',
    (response) => {
      expect(recordsToDelete(batch, response).map((r) => r.messageId)).toEqual(['a1', 'b1', 'a2']);
    },
  );

  test.each([
    { batchItemFailures: [{ itemIdentifier: '' }] },
    { batchItemFailures: [{ itemIdentifier: null }] },
    { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] },
    { batchItemFailures: [{ id: 'a1' }] },
    { batchItemFailures: 'a1' },
    'ok',
  ])('fails the whole batch on the invalid response %j', (response) => {
    expect(() => recordsToDelete(batch, response)).toThrow(BatchResponseError);
  });

  test('a failed FIFO record keeps every later record of its group, and only those', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (groups, picks) => {
          const records = groups.map((g, i) => record(`m${i}`, g));
          const failed = new Set(picks.map((p) => `m${p % records.length}`));
          const deleted = new Set(
            recordsToDelete(records, {
              batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })),
            }).map((r) => r.messageId),
          );
          for (const [i, r] of records.entries()) {
            const failedBefore = records
              .slice(0, i + 1)
              .some(
                (x) => x.attributes.MessageGroupId === r.attributes.MessageGroupId && failed.has(x.messageId),
              );
            expect(deleted.has(r.messageId)).toBe(!failedBefore);
          }
        },
      ),
    );
  });
});

describe('local event source mapping on the local SQS', () => {
  test('invokes the handler with Lambda-shaped SQS records and deletes them on success', async () => {
    const sqs = await setup();
    const events: SQSEvent[] = [];
    const { reports } = map(sqs, async (event) => {
      events.push(event);
    });
    const before = Date.now();
    const sent = await send(sqs, 'hello', 'page:user');
    await until(() => reports.length === 1);
    const [r] = events[0]?.Records ?? [];
    expect(r).toEqual({
      messageId: sent.MessageId,
      receiptHandle: expect.any(String),
      body: 'hello',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
        SequenceNumber: sent.SequenceNumber,
        MessageGroupId: 'page:user',
        MessageDeduplicationId: 'page:user:hello',
      },
      messageAttributes: {
        kind: { stringValue: 'step', stringListValues: [], binaryListValues: [], dataType: 'String' },
      },
      md5OfBody: '5d41402abc4b2a76b9719d911017c592',
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: 'aws:sqs',
      eventSourceARN: sqs.queueArn,
      awsRegion: 'us-east-1',
    });
    expect(Number(r?.attributes.SentTimestamp)).toBeGreaterThanOrEqual(before);
    expect(reports[0]?.deleted).toEqual([sent.MessageId]);
  });

  test('a reported item failure stays on the queue and comes back after the visibility timeout', async () => {
    const sqs = await setup(1);
    const seen: string[] = [];
    const { reports } = map(sqs, async (event) => {
      const r = event.Records[0];
      seen.push(`${r?.body}#${r?.attributes.ApproximateReceiveCount}`);
      return r?.attributes.ApproximateReceiveCount === '1'
        ? { batchItemFailures: [{ itemIdentifier: r.messageId }] }
        : {};
    });
    await send(sqs, 'retry-me', 'g');
    await until(() => reports.length === 2);
    expect(seen).toEqual(['retry-me#1', 'retry-me#2']);
    expect(reports.map((r) => r.kept.length)).toEqual([1, 0]);
  });

  test('a thrown error fails the whole batch; the message is redelivered', async () => {
    const sqs = await setup(1);
    let calls = 0;
    const { reports } = map(sqs, async () => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
    });
    await send(sqs, 'x', 'g');
    await until(() => reports.length === 2);
    expect(reports[0]?.error).toBe('Error: boom');
    expect(reports[0]?.deleted).toEqual([]);
    expect(reports[1]?.deleted).toHaveLength(1);
  });

  test('a handler that outlives the function timeout fails its batch', async () => {
    const sqs = await setup(1);
    const { reports } = map(sqs, () => delay(300), { functionTimeoutMs: 50 });
    await send(sqs, 'slow', 'g');
    await until(() => reports.length === 1);
    expect(reports[0]?.error).toMatch(/timed out after 50 ms/);
    expect(reports[0]?.kept).toHaveLength(1);
  });

  test('honours the batch size', async () => {
    const sqs = await setup();
    for (const g of ['a', 'b', 'c', 'd', 'e']) await send(sqs, 'm', g);
    const one = map(sqs, async () => {}, { batchSize: 1 });
    await until(() => one.reports.length === 5);
    expect(one.reports.map((r) => r.records.length)).toEqual([1, 1, 1, 1, 1]);
    await one.esm.stop();
    for (const g of ['a', 'b', 'c', 'd', 'e']) await send(sqs, 'n', g);
    const three = map(sqs, async () => {}, { batchSize: 3 });
    await until(() => three.reports.reduce((n, r) => n + r.records.length, 0) === 5);
    expect(Math.max(...three.reports.map((r) => r.records.length))).toBe(3);
  });

  test('runs up to maxConcurrency batches at once and never more', async () => {
    const sqs = await setup(30);
    for (const g of ['a', 'b', 'c', 'd', 'e', 'f']) await send(sqs, 'm', g);
    let active = 0;
    let peak = 0;
    const { reports } = map(
      sqs,
      async () => {
        active += 1;
        peak = Math.max(peak, active);
        await delay(100);
        active -= 1;
      },
      { maxConcurrency: 3 },
    );
    await until(() => reports.length === 6);
    expect(peak).toBe(3);
  });

  test('keeps each group in order across concurrent pollers', async () => {
    const sqs = await setup(30);
    const groups = ['a', 'b', 'c'];
    for (let i = 0; i < 8; i++) for (const g of groups) await send(sqs, String(i), g);
    const order: Record<string, number[]> = { a: [], b: [], c: [] };
    const { reports } = map(
      sqs,
      async (event) => {
        for (const r of event.Records) {
          await delay(Math.random() * 15);
          order[r.attributes.MessageGroupId ?? '']?.push(Number(r.body));
        }
      },
      { maxConcurrency: 4 },
    );
    await until(() => reports.length === 24);
    for (const g of groups) expect(order[g]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('stop() waits for the batch in flight and then invokes nothing more', async () => {
    const sqs = await setup(30);
    await send(sqs, 'first', 'g');
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const bodies: string[] = [];
    const { esm, reports } = map(sqs, async (event) => {
      bodies.push(event.Records[0]?.body ?? '');
      await gate;
    });
    await until(() => bodies.length === 1);
    await send(sqs, 'second', 'h');
    const stopped = esm.stop();
    release();
    await stopped;
    expect(reports).toHaveLength(1);
    expect(reports[0]?.deleted).toHaveLength(1);
    await delay(50);
    expect(bodies).toEqual(['first']);
  });
});

describe('idle (what tests wait for instead of sleeping)', () => {
  /** A promise the test resolves by hand. */
  const gate = () => {
    let open: () => void = () => {};
    const closed = new Promise<void>((r) => {
      open = r;
    });
    return { closed, open };
  };

  test('is idle only while the queue is empty and no batch runs', async () => {
    const sqs = await setup(30);
    const held = gate();
    let started = 0;
    const { esm, reports } = map(sqs, async () => {
      started += 1;
      await held.closed;
    });
    expect(await esm.idle()).toBe(true);
    await send(sqs, 'm', 'g');
    expect(await esm.idle()).toBe(false); // queued, or already received
    await until(() => started === 1);
    expect(await esm.idle()).toBe(false); // running
    held.open();
    await until(() => reports.length === 1);
    await until(esm.idle, 2000);
    expect(reports[0]?.deleted).toHaveLength(1);
  });

  test('is not idle while a returned message waits, invisible, for its retry', async () => {
    const sqs = await setup(30);
    const { esm, reports } = map(sqs, async (event) => ({
      batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })),
    }));
    await send(sqs, 'later', 'g');
    await until(() => reports.length === 1);
    await new Promise((r) => setImmediate(r)); // past the batch's own bookkeeping
    expect(reports[0]?.kept).toHaveLength(1);
    expect(await esm.idle()).toBe(false); // nothing runs, but the message comes back in 30 s
  });

  test('counts a handler that outlived its timeout as running until it returns', async () => {
    const sqs = await setup(1);
    const held = gate();
    let calls = 0;
    const { esm, reports } = map(
      sqs,
      async () => {
        calls += 1;
        if (calls === 1) await held.closed; // times out; the redelivered copy then succeeds
      },
      { functionTimeoutMs: 50 },
    );
    await send(sqs, 'slow', 'g');
    await until(() => reports.some((r) => r.deleted.length === 1));
    expect(reports[0]?.error).toMatch(/timed out after 50 ms/);
    expect(await esm.idle()).toBe(false); // the queue is empty, but the first call is still running
    held.open();
    await until(esm.idle, 2000);
  });
});
