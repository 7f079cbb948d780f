/**
 * The Lambda SQS event as the plain records lib/'s FIFO consumer takes (lib/queue/consumer/record.ts): AWS
 * event types stop here.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { QueueRecord } from '../lib/queue/consumer/record.ts';

export const toQueueRecord = (record: SQSRecord): QueueRecord => ({
  messageId: record.messageId,
  receiptHandle: record.receiptHandle,
  body: record.body,
  attributes: { ...record.attributes },
  ...(record.eventSourceARN && { sourceArn: record.eventSourceARN }),
});

export const queueRecordsOf = (event: SQSEvent): QueueRecord[] => (event.Records ?? []).map(toQueueRecord);
