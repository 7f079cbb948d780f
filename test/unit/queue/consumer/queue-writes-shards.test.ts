import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { changeVisibility, copyToDlq, deleteNow } from '../../../../lib/queue/consumer/queue-writes.ts';
import type { QueueRecord } from '../../../../lib/queue/consumer/record.ts';
import { pairShards } from '../../../../lib/queue/shards.ts';
import { memoryTelemetry } from '../../../support/telemetry.ts';

const base = 'https://sqs.us-east-1.amazonaws.com/123456789012';
const sqsMock = mockClient(SQSClient);
const queue = () => ({
  sqs: new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
  queueUrl: `${base}/e-steps.fifo`,
  dlqUrl: `${base}/e-steps-dlq.fifo`,
  shards: pairShards(
    [`${base}/e-steps.fifo`, `${base}/e-steps-s1.fifo`],
    [`${base}/e-steps-dlq.fifo`, `${base}/e-steps-s1-dlq.fifo`],
  ),
  telemetry: memoryTelemetry(),
});
const record = (sourceArn?: string): QueueRecord => ({
  messageId: 'm1',
  receiptHandle: 'rh',
  body: '{}',
  attributes: {},
  ...(sourceArn && { sourceArn }),
});

describe('consumer writes with queue shards', () => {
  beforeEach(() => {
    sqsMock.reset();
    sqsMock.resolves({});
  });

  it("answers a record on the shard its event source names: visibility, delete and the shard's own DLQ", async () => {
    const r = record('arn:aws:sqs:us-east-1:123456789012:e-steps-s1.fifo');
    await changeVisibility(queue(), r, 3);
    await deleteNow(queue(), [r]);
    expect(await copyToDlq(queue(), r, 'p:u', 'poison')).toBe(true);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input.QueueUrl).toBe(
      `${base}/e-steps-s1.fifo`,
    );
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)[0]?.args[0].input.QueueUrl).toBe(
      `${base}/e-steps-s1.fifo`,
    );
    expect(sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.QueueUrl).toBe(
      `${base}/e-steps-s1-dlq.fifo`,
    );
  });

  it('falls back to the configured queue for a record that names none (or an unknown queue)', async () => {
    await changeVisibility(queue(), record(), 3);
    await changeVisibility(queue(), record('arn:aws:sqs:us-east-1:123456789012:elsewhere.fifo'), 3);
    const urls = sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input.QueueUrl);
    expect(urls).toEqual([`${base}/e-steps.fifo`, `${base}/e-steps.fifo`]);
  });
});
