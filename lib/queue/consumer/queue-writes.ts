/**
 * The consumer's own SQS writes besides Lambda's deletes: hand records back later (ChangeMessageVisibility),
 * delete a finished group at once, copy a record to the dead-letter queue. None of them throws: a failed
 * write leaves the record to SQS's own visibility timeout — late, never lost.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { errorText } from '../../platform/errors.ts';
import type { Telemetry } from '../../platform/telemetry.ts';
import { type ShardQueue, shardOfSource } from '../shards.ts';
import type { QueueRecord } from './record.ts';

/** SQS caps a visibility timeout at 12 hours (API Reference, ChangeMessageVisibility). */
export const MAX_VISIBILITY_SECONDS = 43_200;

export type ConsumerQueue = {
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  dlqUrl?: string;
  /** Every shard with its DLQ (lib/queue/shards.ts); a record is answered on the shard it came from. */
  shards?: readonly ShardQueue[];
  telemetry: Pick<Telemetry, 'log' | 'metric'>;
};

/**
 * The queue a record came from and its DLQ: its shard when the record names one this function knows, else
 * queueUrl / dlqUrl. Never recomputed from the group: after a change of N a record may sit in a shard the
 * hash no longer picks (docs/scale.md, "Changing N").
 */
export const sourceQueueOf = (queue: ConsumerQueue, record: QueueRecord): ShardQueue => {
  const shard = queue.shards && shardOfSource(queue.shards, record.sourceArn);
  if (shard) return shard;
  // Stryker disable next-line ConditionalExpression: equivalent: an absent dlqUrl and one set to undefined read alike
  return queue.dlqUrl === undefined
    ? { queueUrl: queue.queueUrl }
    : { queueUrl: queue.queueUrl, dlqUrl: queue.dlqUrl };
};

/** Whole seconds SQS accepts: ChangeMessageVisibility takes integers from 0 to 12 h. */
export const clampVisibility = (seconds: number): number =>
  Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(seconds)));

/** Makes the record visible again in `seconds` (clamped to what SQS accepts). */
export const changeVisibility = async (
  queue: ConsumerQueue,
  record: QueueRecord,
  seconds: number,
): Promise<void> => {
  try {
    await queue.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: sourceQueueOf(queue, record).queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: clampVisibility(seconds),
      }),
    );
  } catch (error) {
    queue.telemetry.log.warn('could not change message visibility', {
      messageId: record.messageId,
      error: errorText(error),
    });
    queue.telemetry.metric('VisibilityChangeFailed', 1);
  }
};

/**
 * Deletes finished records now rather than when the invocation ends: their group stays locked while they
 * are in flight. Lambda deletes them again after the batch, which SQS accepts for a message already gone
 * ("the request will still succeed", SQS API Reference, DeleteMessage).
 */
export const deleteNow = async (queue: ConsumerQueue, records: readonly QueueRecord[]): Promise<void> => {
  const first = records[0];
  if (first === undefined) return;
  try {
    // One group's records: one FIFO queue, hence one shard.
    await queue.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: sourceQueueOf(queue, first).queueUrl,
        Entries: records.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
  } catch (error) {
    queue.telemetry.log.warn('could not delete finished records early; Lambda deletes them after the batch', {
      error: errorText(error),
    });
  }
};

/** Copies a record to the DLQ; false when there is none or the send failed. */
export const copyToDlq = async (
  queue: ConsumerQueue,
  record: QueueRecord,
  group: string,
  reason: string,
): Promise<boolean> => {
  const { dlqUrl } = sourceQueueOf(queue, record);
  if (!dlqUrl) return false;
  try {
    await queue.sqs.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: record.body,
        // A FIFO DLQ requires a group; content-based dedup may be off, so name the copy by the source id.
        ...(dlqUrl.endsWith('.fifo') && {
          MessageGroupId: group,
          MessageDeduplicationId: record.messageId,
        }),
        MessageAttributes: {
          EllipsisReason: { DataType: 'String', StringValue: reason.slice(0, 256) || 'unknown' },
          EllipsisSourceMessageId: { DataType: 'String', StringValue: record.messageId },
        },
      }),
    );
    return true;
  } catch (error) {
    queue.telemetry.log.error('could not copy a record to the DLQ', {
      messageId: record.messageId,
      error: errorText(error),
    });
    return false;
  }
};

/** Copies every record; true only when every copy landed (a record not copied must not be deleted). */
export const copyAllToDlq = async (
  queue: ConsumerQueue,
  records: readonly QueueRecord[],
  group: string,
  reason: string,
): Promise<boolean> => {
  const copied = await Promise.all(records.map((r) => copyToDlq(queue, r, group, reason)));
  return copied.every(Boolean);
};
