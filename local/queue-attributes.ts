/**
 * The step queue's attributes and the sender's event source mapping, as serverless.yml declares them
 * (custom.queue, custom.sender, StepsQueue, the sender's `sqs` event). The local stack creates its queues
 * and poller from these values; test/local-sqs.test.ts fails when serverless.yml says otherwise.
 */

export const STEP_QUEUE_NAME = 'ellipsis-steps.fifo';
export const STEP_DLQ_NAME = 'ellipsis-steps-dlq.fifo';

/** Redrive after this many receives; must equal QUEUE_MAX_RECEIVE_COUNT (lib/platform/config.ts default). */
export const MAX_RECEIVE_COUNT = 20;

/** The sender function's timeout. */
export const SENDER_TIMEOUT_SECONDS = 15;

/**
 * How long a received step stays invisible. AWS Lambda developer guide ("Using Lambda with Amazon SQS"):
 * set the queue's visibility timeout to at least six times the function timeout.
 */
export const VISIBILITY_TIMEOUT_SECONDS = 6 * SENDER_TIMEOUT_SECONDS;

/** The sender's mapping: one step per invocation (see lib/sender/schedule.ts for why). */
export const SENDER_BATCH_SIZE = 1;
export const SENDER_MAX_CONCURRENCY = 400;

/** Messages not sent within 4 days are stale for a chat; the DLQ keeps them the 14-day maximum for inspection. */
export const MESSAGE_RETENTION_SECONDS = 4 * 24 * 3600;
export const DLQ_MESSAGE_RETENTION_SECONDS = 14 * 24 * 3600;

/**
 * AWS SQS Developer Guide, "High throughput for FIFO queues": DeduplicationScope messageGroup with
 * FifoThroughputLimit perMessageGroupId. Dedup ids are explicit (`<sequenceId>:<stepIndex>`), so
 * content-based deduplication stays off: two identical "ok" replies are distinct steps.
 */
export const FIFO_ATTRIBUTES = {
  FifoQueue: 'true',
  ContentBasedDeduplication: 'false',
  DeduplicationScope: 'messageGroup',
  FifoThroughputLimit: 'perMessageGroupId',
} as const;

export type StepQueueOptions = { visibilityTimeoutSeconds?: number; maxReceiveCount?: number };

/** Attributes of the main step queue, given the DLQ's ARN. */
export const stepQueueAttributes = (
  dlqArn: string,
  options: StepQueueOptions = {},
): Record<string, string> => ({
  ...FIFO_ATTRIBUTES,
  VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? VISIBILITY_TIMEOUT_SECONDS),
  MessageRetentionPeriod: String(MESSAGE_RETENTION_SECONDS),
  RedrivePolicy: JSON.stringify({
    deadLetterTargetArn: dlqArn,
    maxReceiveCount: options.maxReceiveCount ?? MAX_RECEIVE_COUNT,
  }),
});

export const dlqAttributes = (): Record<string, string> => ({
  ...FIFO_ATTRIBUTES,
  MessageRetentionPeriod: String(DLQ_MESSAGE_RETENTION_SECONDS),
});

/**
 * The responder queue (serverless.yml ResponderQueue, the responder's `sqs` event): one message per inbound
 * event, grouped by user. Batch size 10 so a user's burst arrives as one turn (lib/responder/turn-consumer.ts).
 */
export const RESPONDER_QUEUE_NAME = 'ellipsis-responder.fifo';
export const RESPONDER_DLQ_NAME = 'ellipsis-responder-dlq.fifo';
export const RESPONDER_BATCH_SIZE = 10;
export const RESPONDER_MAX_CONCURRENCY = 20;
/** Long enough for an LLM; RESPONDER_MAX_THINKING_MS (100 s) plus a reserve fits inside it. */
export const RESPONDER_TIMEOUT_SECONDS = 120;
/** Quiet-window deferrals (≤ RESPONDER_MAX_DEFERRALS = 4) plus retries of a failing responder. */
export const RESPONDER_MAX_RECEIVE_COUNT = 10;

/** Attributes of the responder queue, given its DLQ's ARN: six times the function timeout, as above. */
export const responderQueueAttributes = (dlqArn: string): Record<string, string> => ({
  ...FIFO_ATTRIBUTES,
  VisibilityTimeout: String(6 * RESPONDER_TIMEOUT_SECONDS),
  MessageRetentionPeriod: String(MESSAGE_RETENTION_SECONDS),
  RedrivePolicy: JSON.stringify({
    deadLetterTargetArn: dlqArn,
    maxReceiveCount: RESPONDER_MAX_RECEIVE_COUNT,
  }),
});
