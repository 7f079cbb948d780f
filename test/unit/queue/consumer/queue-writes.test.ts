/** The consumer's SQS writes: none throws, and a record is never reported moved when its DLQ copy failed. */
import type { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { clampVisibility, copyAllToDlq, copyToDlq } from '../../../../lib/queue/consumer/queue-writes.ts';
import type { QueueRecord } from '../../../../lib/queue/consumer/record.ts';
import { queueRecord } from '../../../support/factories.ts';
import { memoryTelemetry } from '../../../support/telemetry.ts';

const record = (id: string): QueueRecord => queueRecord(id, `body ${id}`, 'G');

/** An SQS whose SendMessage fails for the listed source message ids. */
const queueFailingFor = (failing: string[], dlqUrl = 'https://sqs/dlq.fifo') => {
  const copies: SendMessageCommand['input'][] = [];
  return {
    copies,
    queue: {
      sqs: {
        send: async (command: SendMessageCommand) => {
          const source = command.input.MessageAttributes?.EllipsisSourceMessageId?.StringValue ?? '';
          if (failing.includes(source))
            throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
          copies.push(command.input);
          return {};
        },
      } as never,
      queueUrl: 'https://sqs/q.fifo',
      dlqUrl,
      telemetry: memoryTelemetry(),
    },
  };
};

describe('consumer queue writes', () => {
  it('clamps a visibility to whole seconds from 0 to 12 h', () => {
    expect([clampVisibility(-1), clampVisibility(1.5), clampVisibility(50_000)]).toEqual([0, 2, 43_200]);
  });

  it('copies to a FIFO DLQ in the record group, deduplicated by the source id', async () => {
    const q = queueFailingFor([]);
    expect(await copyToDlq(q.queue, record('m1'), 'PAGE:U', 'poison')).toBe(true);
    expect(q.copies[0]).toMatchObject({
      QueueUrl: 'https://sqs/dlq.fifo',
      MessageBody: 'body m1',
      MessageGroupId: 'PAGE:U',
      MessageDeduplicationId: 'm1',
    });
  });

  it('copies to a standard DLQ without FIFO fields', async () => {
    const q = queueFailingFor([], 'https://sqs/dlq');
    await copyToDlq(q.queue, record('m1'), 'PAGE:U', 'poison');
    expect(q.copies[0]).not.toHaveProperty('MessageGroupId');
  });

  it('reports not moved when there is no DLQ or the copy failed, without throwing', async () => {
    const none = { ...queueFailingFor([]).queue, dlqUrl: undefined };
    expect(await copyToDlq(none, record('m1'), 'G', 'x')).toBe(false);
    expect(await copyToDlq(queueFailingFor(['m1']).queue, record('m1'), 'G', 'x')).toBe(false);
  });

  it('moves a group only when every copy landed: one failed copy of three means not moved', async () => {
    const q = queueFailingFor(['m2']);
    expect(await copyAllToDlq(q.queue, [record('m1'), record('m2'), record('m3')], 'G', 'x')).toBe(false);
    expect(await copyAllToDlq(queueFailingFor([]).queue, [record('m1'), record('m2')], 'G', 'x')).toBe(true);
  });
});
