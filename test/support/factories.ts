/**
 * Factories shared by the tests (as Powertools' tests/helpers/factories.ts): one valid value of each core
 * type, with the fields a test cares about overridden. A field added to a schema gets its default here once.
 */

import { encodeStep, groupIdOf, type QueuedStep } from '../../lib/queue/codec.ts';
import type { QueueRecord } from '../../lib/queue/consumer/record.ts';
import type { InboundEvent } from '../../lib/queue/inbound.ts';
import type { SenderTuning } from '../../lib/sender/schedule.ts';

/** A fixed sender tuning: the lib/sender/config.ts defaults. */
export const senderTuning: SenderTuning = {
  SENDER_INLINE_WAIT_MS: 1000,
  SENDER_CATCH_UP_AFTER_MS: 15_000,
  RETRY_BASE_SECONDS: 2,
  RETRY_MAX_SECONDS: 300,
  QUEUE_MAX_RECEIVE_COUNT: 20,
  SENDER_USAGE_THRESHOLD_PERCENT: 90,
  SENDER_DEFER_MAX_SLEEP_MS: 1000,
  SENDER_MIN_PAUSE_RATIO: 0.5,
  SENDER_CALL_BUDGET: 'on',
  SENDER_BUDGET_SHARE: 0.8,
};

/** One step as the producer queues it: a due "hello" message, the only step of its sequence, unless `over`. */
export const queuedStep = (over: Partial<QueuedStep> = {}): QueuedStep => ({
  v: 1,
  pageId: '104729348572910',
  psid: '7700000000000000001',
  sequenceId: 'm_seq',
  index: 0,
  count: 1,
  delayMs: 0,
  plannedAt: 1_700_000_000_000,
  dueAt: 1_700_000_000_000,
  action: { message: { text: 'hello' } },
  ...over,
});

/** One inbound Messenger text message ("hi") from one user to one page, unless `over`. */
export const inboundEvent = (over: Partial<InboundEvent> = {}): InboundEvent => ({
  channel: 'messenger',
  kind: 'message',
  pageId: 'PAGE',
  psid: 'USER',
  timestamp: 1_700_000_000_000,
  eventId: 'm_1',
  mid: 'm_1',
  text: 'hi',
  attachments: [],
  ...over,
});

/** One SQS record as a FIFO consumer receives it: id `id`, body `body`, in `group`, first receive unless `over`. */
export const queueRecord = (
  id: string,
  body: string,
  group: string,
  over: Partial<QueueRecord['attributes']> = {},
): QueueRecord => ({
  messageId: id,
  receiptHandle: `rh-${id}`,
  body,
  attributes: { MessageGroupId: group, ApproximateReceiveCount: '1', ...over },
});

/** The SQS record of a queued step, due at `dueAt` (planned then too), on its `receiveCount`-th receive. */
export const stepRecord = (
  step: QueuedStep,
  options: { id: string; dueAt: number; receiveCount?: number },
): QueueRecord =>
  queueRecord(
    options.id,
    encodeStep({ ...step, plannedAt: options.dueAt, dueAt: options.dueAt }),
    groupIdOf(step.pageId, step.psid),
    { ApproximateReceiveCount: String(options.receiveCount ?? 1) },
  );
