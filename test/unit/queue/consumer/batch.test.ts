/**
 * The one FIFO batch loop (lib/queue/consumer/batch.ts): groups concurrently, each in order; a settlement
 * returns a record and every later record of its group, with the head's visibility; the partial batch
 * response names exactly the records kept.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type ServiceInputTypes,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { type GroupSettlement, processFifoBatch } from '../../../../lib/queue/consumer/batch.ts';
import type { QueueRecord } from '../../../../lib/queue/consumer/record.ts';
import { queueRecord } from '../../../support/factories.ts';
import { memoryTelemetry, metricTotal } from '../../../support/telemetry.ts';

const record = (id: string, group: string): QueueRecord => queueRecord(id, id, group);

const recordingQueue = () => {
  const sent: { name: string; input: ServiceInputTypes }[] = [];
  const telemetry = memoryTelemetry();
  return {
    sent,
    telemetry,
    queue: {
      sqs: {
        send: async (command: { constructor: { name: string }; input: ServiceInputTypes }) => {
          sent.push({ name: command.constructor.name, input: command.input });
          return {};
        },
      } as never,
      queueUrl: 'https://sqs/q.fifo',
      telemetry,
    },
  };
};

const run = (
  records: QueueRecord[],
  settle: (group: string, rs: readonly QueueRecord[]) => GroupSettlement,
) => {
  const q = recordingQueue();
  const seen: string[][] = [];
  const response = processFifoBatch(records, {
    queue: q.queue,
    groupOf: (r) => r.attributes.MessageGroupId ?? r.messageId,
    settleGroup: async (group, rs) => {
      seen.push(rs.map((r) => r.messageId));
      return settle(group, rs);
    },
    retrySeconds: 7,
  });
  return { ...q, seen, response };
};

describe('processFifoBatch', () => {
  it('hands each group its records in arrival order and keeps nothing when all are done', async () => {
    const r = run([record('a1', 'A'), record('b1', 'B'), record('a2', 'A')], () => ({ kind: 'done' }));
    expect(await r.response).toEqual({ batchItemFailures: [] });
    expect(r.seen).toEqual([['a1', 'a2'], ['b1']]);
    expect(r.sent).toEqual([]);
  });

  it('returns the first unfinished record and every later one of its group, all with the head visibility', async () => {
    const r = run([record('a1', 'A'), record('a2', 'A'), record('a3', 'A'), record('b1', 'B')], (group) =>
      group === 'A' ? { kind: 'return', from: 1, visibilitySeconds: 12.4 } : { kind: 'done' },
    );
    expect((await r.response).batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a2', 'a3']);
    const changes = r.sent.filter((c) => c.name === ChangeMessageVisibilityCommand.name);
    expect(changes.map((c) => c.input)).toEqual([
      { QueueUrl: 'https://sqs/q.fifo', ReceiptHandle: 'rh-a2', VisibilityTimeout: 12 },
      { QueueUrl: 'https://sqs/q.fifo', ReceiptHandle: 'rh-a3', VisibilityTimeout: 12 },
    ]);
    expect(metricTotal(r.telemetry.metrics, 'FollowersReturned')).toBe(1);
  });

  it('clamps the visibility to what SQS accepts (0 to 12 h)', async () => {
    const r = run([record('a1', 'A'), record('b1', 'B')], (group) => ({
      kind: 'return',
      from: 0,
      visibilitySeconds: group === 'A' ? 100_000 : -5,
    }));
    await r.response;
    expect(r.sent.map((c) => (c.input as { VisibilityTimeout: number }).VisibilityTimeout)).toEqual([
      43_200, 0,
    ]);
  });

  it('returns the whole group when settling it throws, and still answers the other groups', async () => {
    const r = run([record('a1', 'A'), record('a2', 'A'), record('b1', 'B')], (group) => {
      if (group === 'A') throw new Error('bug');
      return { kind: 'done' };
    });
    expect((await r.response).batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a1', 'a2']);
    expect(r.sent.map((c) => (c.input as { VisibilityTimeout: number }).VisibilityTimeout)).toEqual([7, 7]);
    expect(metricTotal(r.telemetry.metrics, 'ProcessingErrors')).toBe(1);
  });

  it('deletes a finished group at once when asked, unlocking it before the invocation ends', async () => {
    const r = run([record('a1', 'A'), record('a2', 'A')], () => ({ kind: 'done', deleteNow: true }));
    expect((await r.response).batchItemFailures).toEqual([]);
    expect(r.sent).toEqual([
      {
        name: DeleteMessageBatchCommand.name,
        input: {
          QueueUrl: 'https://sqs/q.fifo',
          Entries: [
            { Id: '0', ReceiptHandle: 'rh-a1' },
            { Id: '1', ReceiptHandle: 'rh-a2' },
          ],
        },
      },
    ]);
  });

  it('runs groups concurrently: a slow group does not hold up another', async () => {
    const order: string[] = [];
    let releaseA: () => void = () => undefined;
    const q = recordingQueue();
    const response = processFifoBatch([record('a1', 'A'), record('b1', 'B')], {
      queue: q.queue,
      groupOf: (r) => r.attributes.MessageGroupId ?? '',
      settleGroup: async (group) => {
        if (group === 'A') await new Promise<void>((resolve) => (releaseA = resolve));
        order.push(group);
        if (group === 'B') releaseA();
        return { kind: 'done' };
      },
      retrySeconds: 1,
    });
    await response;
    expect(order).toEqual(['B', 'A']);
  });
});
