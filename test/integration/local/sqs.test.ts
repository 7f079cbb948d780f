/**
 * Verifies that the local SQS (fauxqs) behaves like SQS FIFO where Ellipsis depends on it, and pins the
 * known gaps so a fauxqs upgrade that changes them is noticed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  DLQ_MESSAGE_RETENTION_SECONDS,
  FIFO_ATTRIBUTES,
  MAX_RECEIVE_COUNT,
  MESSAGE_RETENTION_SECONDS,
  RESPONDER_BATCH_SIZE,
  RESPONDER_MAX_RECEIVE_COUNT,
  RESPONDER_TIMEOUT_SECONDS,
  SENDER_BATCH_SIZE,
  SENDER_MAX_CONCURRENCY,
  SENDER_TIMEOUT_SECONDS,
  VISIBILITY_TIMEOUT_SECONDS,
} from '../../../local/queue-attributes.ts';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs.ts';

const started: LocalSqs[] = [];
const start = async (options: Parameters<typeof startLocalSqs>[0] = {}) => {
  const sqs = await startLocalSqs(options);
  started.push(sqs);
  return sqs;
};
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

const receive = (sqs: LocalSqs, max = 10, wait = 0) =>
  sqs.client
    .send(
      new ReceiveMessageCommand({
        QueueUrl: sqs.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: wait,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    )
    .then((r) => r.Messages ?? []);

const send = (sqs: LocalSqs, body: string, group: string, dedup = body) =>
  sqs.client.send(
    new SendMessageCommand({
      QueueUrl: sqs.queueUrl,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: dedup,
    }),
  );

describe('local SQS (fauxqs on 127.0.0.1)', () => {
  test('hands out 127.0.0.1 queue URLs that an unconfigured SDK client reaches through env alone', async () => {
    const sqs = await start();
    expect(new URL(sqs.queueUrl).hostname).toBe('127.0.0.1');
    expect(new URL(sqs.dlqUrl).hostname).toBe('127.0.0.1');
    for (const [name, value] of Object.entries(sqs.env)) vi.stubEnv(name, value);
    const appClient = new SQSClient({});
    try {
      await appClient.send(
        new SendMessageCommand({
          QueueUrl: sqs.env.QUEUE_URL,
          MessageBody: 'from-app',
          MessageGroupId: 'g',
          MessageDeduplicationId: 'd1',
        }),
      );
    } finally {
      appClient.destroy();
    }
    expect((await receive(sqs)).map((m) => m.Body)).toEqual(['from-app']);
  });

  test('creates the FIFO queue and DLQ with the deployed attributes and redrive policy', async () => {
    const sqs = await start({ maxReceiveCount: 7, visibilityTimeoutSeconds: 42 });
    const { Attributes: attributes } = await sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.queueUrl, AttributeNames: ['All'] }),
    );
    const a: Record<string, string | undefined> = attributes ?? {};
    for (const [k, v] of Object.entries(FIFO_ATTRIBUTES)) expect(a[k]).toBe(v);
    expect(a.VisibilityTimeout).toBe('42');
    expect(JSON.parse(a.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: sqs.dlqArn,
      maxReceiveCount: 7,
    });
    const { Attributes: d = {} } = await sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.dlqUrl, AttributeNames: ['FifoQueue'] }),
    );
    expect(d.FifoQueue).toBe('true');
  });

  test('rejects per-message DelaySeconds on the FIFO queue, as AWS does', async () => {
    const sqs = await start();
    await expect(
      sqs.client.send(
        new SendMessageCommand({
          QueueUrl: sqs.queueUrl,
          MessageBody: 'x',
          MessageGroupId: 'g',
          MessageDeduplicationId: 'x',
          DelaySeconds: 2,
        }),
      ),
    ).rejects.toThrow(/DelaySeconds/);
  });

  test('keeps each group in order and never hands out a group while one of its messages is in flight', async () => {
    const sqs = await start();
    await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: sqs.queueUrl,
        Entries: ['a1', 'a2', 'b1', 'a3'].map((body) => ({
          Id: body,
          MessageBody: body,
          MessageGroupId: body[0],
          MessageDeduplicationId: body,
        })),
      }),
    );
    // As AWS: as many of a group as possible, in order (the responder's turns rely on it).
    const first = await receive(sqs);
    expect(first.map((m) => m.Body).filter((b) => b?.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(first.map((m) => m.Body)).toContain('b1');
    expect(await receive(sqs)).toEqual([]);
    expect(first.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['1', '1', '1', '1']);
    // Group a stays locked until every one of its in-flight messages is gone.
    for (const m of first.filter((x) => x.Body !== 'a3')) {
      await sqs.client.send(
        new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
    expect(await receive(sqs)).toEqual([]);
  });

  test('hands a group out one message at a time when the receive asks for one (the sender)', async () => {
    const sqs = await start();
    await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: sqs.queueUrl,
        Entries: ['a1', 'a2'].map((body) => ({
          Id: body,
          MessageBody: body,
          MessageGroupId: 'a',
          MessageDeduplicationId: body,
        })),
      }),
    );
    const [a1] = await receive(sqs, 1);
    expect(a1?.Body).toBe('a1');
    expect(await receive(sqs)).toEqual([]);
    await sqs.client.send(
      new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: a1?.ReceiptHandle }),
    );
    expect((await receive(sqs)).map((m) => m.Body)).toEqual(['a2']);
  });

  test('drops a re-sent message with the same deduplication id and answers with the original id', async () => {
    const sqs = await start();
    const one = await send(sqs, 'hello', 'g', 'seq:0');
    const two = await send(sqs, 'hello again', 'g', 'seq:0');
    expect(two.MessageId).toBe(one.MessageId);
    expect(two.SequenceNumber).toBe(one.SequenceNumber);
    expect((await receive(sqs)).map((m) => m.Body)).toEqual(['hello']);
  });

  test('known gap: deduplicates queue-wide, where AWS with DeduplicationScope messageGroup would keep both', async () => {
    const sqs = await start();
    await send(sqs, 'to-a', 'a', 'same');
    await send(sqs, 'to-b', 'b', 'same');
    expect((await receive(sqs)).map((m) => m.Body)).toEqual(['to-a']);
  });

  test('returns every system attribute Lambda puts on an SQS record', async () => {
    const sqs = await start();
    const before = Date.now();
    const sent = await send(sqs, 'x', 'page:user', 'seq-1:0');
    const [m] = await receive(sqs);
    const a = m?.Attributes ?? {};
    expect(a.MessageGroupId).toBe('page:user');
    expect(a.MessageDeduplicationId).toBe('seq-1:0');
    expect(a.SequenceNumber).toBe(sent.SequenceNumber);
    expect(a.ApproximateReceiveCount).toBe('1');
    expect(a.SenderId).toMatch(/\S/);
    expect(Number(a.SentTimestamp)).toBeGreaterThanOrEqual(before);
    expect(Number(a.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(a.SentTimestamp));
    expect(m?.MD5OfBody).toBe('9dd4e461268c8034f5c8564e155c67a6');
  });

  test('ChangeMessageVisibility hides a message for the given seconds, keeps its group locked, then redelivers it first', async () => {
    const sqs = await start();
    await send(sqs, 'step-0', 'g');
    await send(sqs, 'step-1', 'g');
    const [m] = await receive(sqs, 1);
    await sqs.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: sqs.queueUrl,
        ReceiptHandle: m?.ReceiptHandle,
        VisibilityTimeout: 1,
      }),
    );
    expect(await receive(sqs, 1)).toEqual([]);
    const [again] = await receive(sqs, 1, 5);
    expect(again?.Body).toBe('step-0');
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(again?.Attributes?.ApproximateFirstReceiveTimestamp).toBe(
      m?.Attributes?.ApproximateFirstReceiveTimestamp,
    );
    expect(again?.ReceiptHandle).not.toBe(m?.ReceiptHandle);
  });

  test('visibility 0 makes a message available again at once, ahead of the rest of its group', async () => {
    const sqs = await start();
    await send(sqs, 'first', 'g');
    await send(sqs, 'second', 'g');
    const [m] = await receive(sqs, 1);
    await sqs.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: sqs.queueUrl,
        ReceiptHandle: m?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    expect((await receive(sqs, 1)).map((x) => x.Body)).toEqual(['first']);
  });

  test('rejects ChangeMessageVisibility for a message no longer in flight', async () => {
    const sqs = await start();
    await send(sqs, 'x', 'g');
    const [m] = await receive(sqs);
    await sqs.client.send(
      new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: m?.ReceiptHandle }),
    );
    await expect(
      sqs.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: sqs.queueUrl,
          ReceiptHandle: m?.ReceiptHandle,
          VisibilityTimeout: 5,
        }),
      ),
    ).rejects.toThrow();
  });

  test('moves a message to the DLQ on the receive after maxReceiveCount, keeping group and dedup ids', async () => {
    const sqs = await start({ maxReceiveCount: 2 });
    await send(sqs, 'poison', 'g', 'p:0');
    await send(sqs, 'next', 'g', 'p:1');
    for (let i = 0; i < 2; i++) {
      const [m] = await receive(sqs, 1);
      expect(m?.Body).toBe('poison');
      await sqs.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: sqs.queueUrl,
          ReceiptHandle: m?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    // The third receive redrives the poison message and hands out the next one of the group.
    expect((await receive(sqs, 1)).map((m) => m.Body)).toEqual(['next']);
    const dead = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: sqs.dlqUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['poison']);
    expect(dead.Messages?.[0]?.Attributes?.MessageGroupId).toBe('g');
    expect(dead.Messages?.[0]?.Attributes?.MessageDeduplicationId).toBe('p:0');
  });

  test('a long poll returns as soon as a message arrives, and stop() ends pending long polls', async () => {
    const sqs = await start();
    const polled = receive(sqs, 1, 20);
    await send(sqs, 'wake', 'g');
    expect((await polled).map((m) => m.Body)).toEqual(['wake']);
    const pending = receive(sqs, 1, 20).catch(() => []);
    await sqs.stop();
    started.pop();
    expect(await pending).toEqual([]);
  });

  test('reports a taken port clearly', async () => {
    const sqs = await start();
    const port = Number(new URL(sqs.endpoint).port);
    await expect(startLocalSqs({ port })).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
  });
});

describe('local queue settings match serverless.yml', () => {
  const yml = readFileSync(join(import.meta.dirname, '..', '..', '..', 'serverless.yml'), 'utf8');
  const value = (pattern: RegExp) => Number(pattern.exec(yml)?.[1]);

  test('visibility timeout, redrive count, retention, sender timeout, batch size, concurrency', () => {
    expect(value(/^\s+visibilityTimeout: (\d+)/m)).toBe(VISIBILITY_TIMEOUT_SECONDS);
    expect(value(/^\s+maxReceiveCount: (\d+)/m)).toBe(MAX_RECEIVE_COUNT);
    expect(value(/^\s+retentionSeconds: (\d+)/m)).toBe(MESSAGE_RETENTION_SECONDS);
    expect(value(/^\s+dlqRetentionSeconds: (\d+)/m)).toBe(DLQ_MESSAGE_RETENTION_SECONDS);
    expect(value(/^\s+sender:\n\s+timeout: (\d+)/m)).toBe(SENDER_TIMEOUT_SECONDS);
    expect(value(/senderQueueEvent:[\s\S]*?batchSize: (\d+)/m)).toBe(SENDER_BATCH_SIZE);
    expect(value(/^\s+senderMaxConcurrency: (\d+)/m)).toBe(SENDER_MAX_CONCURRENCY);
    for (const [k, v] of Object.entries(FIFO_ATTRIBUTES)) {
      if (k === 'FifoQueue') continue;
      // Steps queue + DLQ, responder queue + DLQ.
      expect(yml.match(new RegExp(`^\\s+${k}: ${v}$`, 'gm'))?.length, k).toBe(4);
    }
    expect(value(/^\s+responder:\n\s+#[^\n]*\n(?:\s+#[^\n]*\n)*\s+timeout: (\d+)/m)).toBe(
      RESPONDER_TIMEOUT_SECONDS,
    );
    // custom.responder (two spaces in), not the `responder` param.
    expect(value(/^ {2}responder:\n[\s\S]*?visibilityTimeout: (\d+)/m)).toBe(6 * RESPONDER_TIMEOUT_SECONDS);
    expect(value(/^ {2}responder:\n[\s\S]*?maxReceiveCount: (\d+)/m)).toBe(RESPONDER_MAX_RECEIVE_COUNT);
    expect(value(/responderQueueEvent:[\s\S]*?batchSize: (\d+)/m)).toBe(RESPONDER_BATCH_SIZE);
  });
});
