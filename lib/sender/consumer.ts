/**
 * The sender's batch loop: each SQS record is one step; groups (one per user) run concurrently, the steps
 * of a group strictly in order. Waits happen in SQS: a step that is not due yet is handed back with
 * ChangeMessageVisibility, never slept through (only sub-second remainders and waits up to
 * SENDER_INLINE_WAIT_MS are slept).
 *
 * The loop is our own rather than Powertools' SqsFifoPartialProcessor: that one stops the whole batch (or a
 * group) at the first failure but runs groups one after another, does not change the visibility of the
 * records it returns, and throws when every record fails (unless told otherwise). Here a deferral is a normal
 * outcome, not an error: processBatch never throws, because a function error makes Lambda back off polling
 * and retry the whole batch (AWS Lambda Developer Guide, "Handling errors for an SQS event source").
 *
 * One record's processing is in process-step.ts, the FIFO policy in fifo.ts, the timing decisions in
 * schedule.ts.
 */

import { errorText } from '../platform/errors.ts';
import type { ConsumerDeps } from './deps.ts';
import { groupRecords, returnedFrom } from './fifo.ts';
import { processRecord } from './process-step.ts';
import { changeVisibility } from './queue-ops.ts';
import type { ConsumerRecord, RecordOutcome } from './record.ts';

export type { ConsumerDeps } from './deps.ts';
export type { ConsumerRecord } from './record.ts';

type BatchResponse = { batchItemFailures: { itemIdentifier: string }[] };

/** processRecord, but a bug or an unexpected client error returns the record instead of failing the batch. */
const outcomeOf = async (
  deps: ConsumerDeps,
  record: ConsumerRecord,
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

/** Runs one group in order; returns the message ids to report as failures. */
const processGroup = async (
  deps: ConsumerDeps,
  group: string,
  members: readonly ConsumerRecord[],
): Promise<string[]> => {
  let predecessorDoneAt: number | undefined;
  for (const [position, record] of members.entries()) {
    const outcome = await outcomeOf(deps, record, group, predecessorDoneAt);
    if (outcome.done) {
      predecessorDoneAt = outcome.completedAt;
      continue;
    }
    const returned = returnedFrom(members, position);
    await Promise.all(returned.map((r) => changeVisibility(deps, r, outcome.visibilitySeconds)));
    if (returned.length > 1) deps.telemetry.metric('FollowersReturned', returned.length - 1);
    return returned.map((r) => r.messageId);
  }
  return [];
};

export const processBatch = async (
  records: readonly ConsumerRecord[],
  deps: ConsumerDeps,
): Promise<BatchResponse> => {
  const groups = groupRecords(records);
  const failed = await Promise.all([...groups].map(([group, members]) => processGroup(deps, group, members)));
  // Lambda's partial batch response: only the ids of records to keep (AWS Lambda Developer Guide, SQS).
  return { batchItemFailures: failed.flat().map((itemIdentifier) => ({ itemIdentifier })) };
};
