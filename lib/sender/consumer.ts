/**
 * The sender's batch: each SQS record is one step, run on the one FIFO consumer (lib/queue/consumer/). A
 * group's steps go strictly in order; the first that cannot go now (not due, a retry) goes back with every
 * later step of its group. Waits happen in SQS: a step that is not due yet is handed back with
 * ChangeMessageVisibility, never slept through (only sub-second remainders and waits up to
 * SENDER_INLINE_WAIT_MS are slept). One record's processing is in process-step.ts, the timing decisions in
 * schedule.ts.
 */

import { errorText } from '../platform/errors.ts';
import { decodeStep, groupIdOf } from '../queue/codec.ts';
import { type BatchResponse, type GroupSettlement, processFifoBatch } from '../queue/consumer/batch.ts';
import type { QueueRecord } from '../queue/consumer/record.ts';
import type { ConsumerDeps } from './deps.ts';
import { processRecord } from './process-step.ts';
import type { RecordOutcome } from './record.ts';

export type { ConsumerDeps } from './deps.ts';

/** The record's FIFO group: the attribute, else the decoded step's, else its own (a poison body). */
export const stepGroupOf = (record: QueueRecord): string => {
  const attribute = record.attributes.MessageGroupId;
  if (attribute) return attribute;
  const decoded = decodeStep(record.body);
  return decoded.ok ? groupIdOf(decoded.step.pageId, decoded.step.psid) : `record:${record.messageId}`;
};

/** processRecord, but a bug or an unexpected client error returns the record instead of failing the batch. */
const outcomeOf = async (
  deps: ConsumerDeps,
  record: QueueRecord,
  group: string,
  predecessorDoneAt: number | undefined,
): Promise<RecordOutcome> => {
  try {
    return await processRecord(deps, record, group, predecessorDoneAt);
  } catch (error) {
    deps.telemetry.log.error('unexpected error while processing a record', {
      messageId: record.messageId,
      error: errorText(error),
    });
    deps.telemetry.metric('ProcessingErrors', 1);
    return { done: false, visibilitySeconds: deps.tuning.RETRY_BASE_SECONDS };
  }
};

/** Sends a group's steps in order, each after its predecessor; stops at the first that cannot go now. */
const sendGroup = async (
  deps: ConsumerDeps,
  group: string,
  records: readonly QueueRecord[],
): Promise<GroupSettlement> => {
  let predecessorDoneAt: number | undefined;
  for (const [position, record] of records.entries()) {
    const outcome = await outcomeOf(deps, record, group, predecessorDoneAt);
    if (!outcome.done)
      // Stryker disable next-line StringLiteral: equivalent: the batch asks only for 'done', any other kind returns
      return { kind: 'return', from: position, visibilitySeconds: outcome.visibilitySeconds };
    predecessorDoneAt = outcome.completedAt;
  }
  return { kind: 'done' };
};

export const processBatch = (records: readonly QueueRecord[], deps: ConsumerDeps): Promise<BatchResponse> =>
  processFifoBatch(records, {
    queue: deps,
    groupOf: stepGroupOf,
    settleGroup: (group, members) => sendGroup(deps, group, members),
    retrySeconds: deps.tuning.RETRY_BASE_SECONDS,
  });
