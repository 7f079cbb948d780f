/** One SQS record of the sender's batch, as plain data, and what processing it came to. */
import type { SqsTiming } from './schedule.ts';

/** One SQS record, as plain data (functions/sender.ts maps the Lambda event to this). */
export type ConsumerRecord = {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** SQS system attributes: MessageGroupId, ApproximateReceiveCount, ApproximateFirstReceiveTimestamp, … */
  attributes: Readonly<Record<string, string | undefined>>;
};

/** Outcome of one record: done (Lambda deletes it) or returned with a new visibility timeout. */
export type RecordOutcome = { done: true; completedAt: number } | { done: false; visibilitySeconds: number };

/** The SQS system attributes the schedule reads, as numbers (absent or unparsable: undefined). */
export const sqsTimingOf = (attributes: ConsumerRecord['attributes']): SqsTiming => {
  const number = (name: string): number | undefined => {
    const value = Number(attributes[name]);
    return attributes[name] !== undefined && Number.isFinite(value) ? value : undefined;
  };
  return {
    receiveCount: Math.max(1, number('ApproximateReceiveCount') ?? 1),
    firstReceiveAt: number('ApproximateFirstReceiveTimestamp'),
    sentAt: number('SentTimestamp'),
  };
};
