/** The sender's two SQS writes besides Lambda's own deletes: hand a record back later, copy one to the DLQ. */
import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { errorText } from '../platform/errors.ts';
import type { ConsumerDeps } from './deps.ts';
import type { ConsumerRecord } from './record.ts';
import { MAX_VISIBILITY_SECONDS } from './schedule.ts';

type QueueDeps = Pick<ConsumerDeps, 'sqs' | 'queueUrl' | 'dlqUrl' | 'telemetry'>;

/** Makes the record visible again in `seconds` (clamped to what SQS accepts). Never throws. */
export const changeVisibility = async (
  deps: QueueDeps,
  record: ConsumerRecord,
  seconds: number,
): Promise<void> => {
  try {
    await deps.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: deps.queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(seconds))),
      }),
    );
  } catch (error) {
    // The record still comes back, after the queue's visibility timeout instead: late, not lost.
    deps.telemetry.log.warn('could not change message visibility', {
      messageId: record.messageId,
      error: errorText(error),
    });
    deps.telemetry.metric('VisibilityChangeFailed', 1);
  }
};

/** Copies a record to the DLQ; false when there is none or the send failed. Never throws. */
export const copyToDlq = async (
  deps: QueueDeps,
  record: ConsumerRecord,
  group: string,
  reason: string,
): Promise<boolean> => {
  if (!deps.dlqUrl) return false;
  try {
    const fifo = deps.dlqUrl.endsWith('.fifo');
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.dlqUrl,
        MessageBody: record.body,
        // A FIFO DLQ requires a group; content-based dedup may be off, so name the copy by the source id.
        ...(fifo && { MessageGroupId: group, MessageDeduplicationId: record.messageId }),
        MessageAttributes: {
          EllipsisReason: { DataType: 'String', StringValue: reason.slice(0, 256) || 'unknown' },
          EllipsisSourceMessageId: { DataType: 'String', StringValue: record.messageId },
        },
      }),
    );
    return true;
  } catch (error) {
    deps.telemetry.log.error('could not copy a record to the DLQ', {
      messageId: record.messageId,
      error: errorText(error),
    });
    return false;
  }
};
