/** One SQS record as plain data: what both FIFO consumers (sender, responder) receive from their handler. */

/** functions/sqs-records.ts maps the Lambda event to this; the local poller builds it too. */
export type QueueRecord = {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** SQS system attributes: MessageGroupId, ApproximateReceiveCount, ApproximateFirstReceiveTimestamp, … */
  attributes: Readonly<Record<string, string | undefined>>;
  /** The queue it came from (Lambda's eventSourceARN): with shards, where its visibility and DLQ copy go. */
  sourceArn?: string;
};

/** How many times SQS has handed this record out, this time included (≥ 1). */
export const receiveCountOf = (record: QueueRecord): number =>
  Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);
