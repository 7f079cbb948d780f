/**
 * The one FIFO consumer at its edges, each a mutant that once survived (npm run mutation -- lib/queue/consumer):
 * what is logged when a write fails (the record's id and the error's name, never its message), the DLQ copy's
 * attributes, a FollowersReturned metric only when followers went back, no write for nothing to write.
 */
import { describe, expect, it } from 'vitest';
import { processFifoBatch } from '../../../../lib/queue/consumer/batch.ts';
import { changeVisibility, copyToDlq, deleteNow } from '../../../../lib/queue/consumer/queue-writes.ts';
import { queueRecord } from '../../../support/factories.ts';
import { memoryTelemetry } from '../../../support/telemetry.ts';

type Sent = { name: string; input: Record<string, unknown> };

/** A queue whose every write fails (or succeeds), recording what it was asked. */
const queueOf = (fails: boolean, dlqUrl?: string) => {
  const sent: Sent[] = [];
  const telemetry = memoryTelemetry();
  const sqs = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ name: command.constructor.name, input: command.input });
      if (fails)
        throw Object.assign(new Error(`secret-bearing message ${'x'.repeat(10)}`), { name: 'Throttled' });
      return {};
    },
  } as never;
  return {
    sent,
    telemetry,
    queue: { sqs, queueUrl: 'https://sqs/q.fifo', telemetry, ...(dlqUrl && { dlqUrl }) },
  };
};

const r1 = queueRecord('m1', 'body', 'G');

describe('consumer writes that fail', () => {
  it('a failed visibility change is logged by record id and error name, and counted', async () => {
    const q = queueOf(true);
    await changeVisibility(q.queue, r1, 5);
    expect(q.telemetry.logs).toEqual([
      {
        level: 'warn',
        message: 'could not change message visibility',
        attributes: { messageId: 'm1', error: 'Throttled' },
      },
    ]);
  });

  it('a failed early delete is logged by error name only: Lambda deletes the records after the batch', async () => {
    const q = queueOf(true);
    await deleteNow(q.queue, [r1]);
    expect(q.telemetry.logs).toEqual([
      {
        level: 'warn',
        message: 'could not delete finished records early; Lambda deletes them after the batch',
        attributes: { error: 'Throttled' },
      },
    ]);
  });

  it('a failed DLQ copy is logged by record id and error name', async () => {
    const q = queueOf(true, 'https://sqs/dlq.fifo');
    expect(await copyToDlq(q.queue, r1, 'G', 'poison')).toBe(false);
    expect(q.telemetry.logs).toEqual([
      {
        level: 'error',
        message: 'could not copy a record to the DLQ',
        attributes: { messageId: 'm1', error: 'Throttled' },
      },
    ]);
  });

  it('a settlement that throws is logged by error name, and its group comes back whole', async () => {
    const q = queueOf(false);
    const res = await processFifoBatch([r1], {
      queue: q.queue,
      groupOf: () => 'G',
      settleGroup: async () => {
        throw Object.assign(new Error('bug'), { name: 'TypeError' });
      },
      retrySeconds: 3,
    });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(q.telemetry.logs).toEqual([
      {
        level: 'error',
        message: 'unexpected error while processing a group',
        attributes: { error: 'TypeError' },
      },
    ]);
  });
});

describe('consumer writes at their edges', () => {
  it('names a DLQ copy by its reason (cut to 256) and source, as String attributes; no reason is "unknown"', async () => {
    const q = queueOf(false, 'https://sqs/dlq.fifo');
    await copyToDlq(q.queue, r1, 'G', 'r'.repeat(300));
    await copyToDlq(q.queue, r1, 'G', '');
    expect(q.sent.map((s) => s.input.MessageAttributes)).toEqual([
      {
        EllipsisReason: { DataType: 'String', StringValue: 'r'.repeat(256) },
        EllipsisSourceMessageId: { DataType: 'String', StringValue: 'm1' },
      },
      {
        EllipsisReason: { DataType: 'String', StringValue: 'unknown' },
        EllipsisSourceMessageId: { DataType: 'String', StringValue: 'm1' },
      },
    ]);
  });

  it('makes no SQS call and logs nothing without a DLQ, or with no records to delete', async () => {
    const q = queueOf(false);
    expect(await copyToDlq(q.queue, r1, 'G', 'poison')).toBe(false);
    await deleteNow(q.queue, []);
    expect(q.sent).toEqual([]);
    expect(q.telemetry.logs).toEqual([]);
  });

  it('counts followers only when a returned record had followers', async () => {
    const q = queueOf(false);
    await processFifoBatch([r1], {
      queue: q.queue,
      groupOf: () => 'G',
      settleGroup: async () => ({ kind: 'return', from: 0, visibilitySeconds: 1 }),
      retrySeconds: 1,
    });
    expect(q.telemetry.metrics.filter((m) => m.name === 'FollowersReturned')).toEqual([]);
  });
});
