/** What processing one step's record came to, and the SQS timing the schedule reads from it. */
import type { QueueRecord } from '../queue/consumer/record.ts';
import type { SqsTiming } from './schedule.ts';

/** Outcome of one record: done (Lambda deletes it) or returned with a new visibility timeout. */
export type RecordOutcome = { done: true; completedAt: number } | { done: false; visibilitySeconds: number };

/** The SQS system attributes the schedule reads, as numbers (absent or unparsable: undefined). */
export const sqsTimingOf = (attributes: QueueRecord['attributes']): SqsTiming => {
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
