/**
 * The one SQS FIFO batch loop, for the sender (one step per record) and the responder (one turn per group).
 * Groups run concurrently, each group's records in order; what a group's records come to is the caller's
 * decision (a GroupSettlement), applied here: SQS writes and Lambda's partial batch response are made in one
 * place only.
 *
 * FIFO and ReportBatchItemFailures: once a record of a group cannot be finished now, it and every later
 * record of the group go back, in order (AWS Lambda Developer Guide, "Handling errors for an SQS event
 * source": for FIFO queues, stop processing at the first failure and return it and all later messages of the
 * group). Lambda leaves returned records invisible for the rest of their visibility timeout, so they are all
 * given the head's: they come back together, in order. The loop never throws: a function error makes Lambda
 * back off polling and retry the whole batch.
 *
 * Our own rather than Powertools' SqsFifoPartialProcessor: that one runs groups one after another, sets no
 * visibility on what it returns, and throws when every record fails.
 */
import { errorText } from '../../platform/errors.ts';
import { type ConsumerQueue, changeVisibility, deleteNow } from './queue-writes.ts';
import type { QueueRecord } from './record.ts';

/** What a group's records come to. */
export type GroupSettlement =
  /** Every record is finished; Lambda deletes them (`deleteNow`: at once, unlocking the group). */
  | { kind: 'done'; deleteNow?: boolean }
  /** Records from `from` on go back to the queue, visible again in `visibilitySeconds`. */
  | { kind: 'return'; from: number; visibilitySeconds: number };

export type FifoBatchOptions = {
  queue: ConsumerQueue;
  /** The record's FIFO group (the MessageGroupId attribute, else whatever the caller can derive). */
  groupOf: (record: QueueRecord) => string;
  settleGroup: (group: string, records: readonly QueueRecord[]) => Promise<GroupSettlement>;
  /** When settling a group throws (a bug, an unexpected client error): the whole group back after this. */
  retrySeconds: number;
};

export type BatchResponse = { batchItemFailures: { itemIdentifier: string }[] };

/** The batch's records by group, each group in arrival (= FIFO) order, groups in order of first arrival. */
export const groupRecords = (
  records: readonly QueueRecord[],
  groupOf: (record: QueueRecord) => string,
): Map<string, QueueRecord[]> => {
  const groups = new Map<string, QueueRecord[]>();
  for (const record of records) {
    const group = groupOf(record);
    const members = groups.get(group);
    if (members) members.push(record);
    else groups.set(group, [record]);
  }
  return groups;
};

const settleSafely = async (
  options: FifoBatchOptions,
  group: string,
  records: readonly QueueRecord[],
): Promise<GroupSettlement> => {
  try {
    return await options.settleGroup(group, records);
  } catch (error) {
    options.queue.telemetry.metric('ProcessingErrors', 1);
    options.queue.telemetry.log.error('unexpected error while processing a group', {
      error: errorText(error),
    });
    // Stryker disable next-line StringLiteral: equivalent: applySettlement asks only for 'done', any other kind returns
    return { kind: 'return', from: 0, visibilitySeconds: options.retrySeconds };
  }
};

/** Applies a settlement; returns the message ids Lambda must keep (batchItemFailures). */
const applySettlement = async (
  queue: ConsumerQueue,
  records: readonly QueueRecord[],
  settlement: GroupSettlement,
): Promise<string[]> => {
  if (settlement.kind === 'done') {
    if (settlement.deleteNow) await deleteNow(queue, records);
    return [];
  }
  const returned = records.slice(Math.max(0, settlement.from));
  await Promise.all(returned.map((r) => changeVisibility(queue, r, settlement.visibilitySeconds)));
  if (returned.length > 1) queue.telemetry.metric('FollowersReturned', returned.length - 1);
  return returned.map((r) => r.messageId);
};

export const processFifoBatch = async (
  records: readonly QueueRecord[],
  options: FifoBatchOptions,
): Promise<BatchResponse> => {
  const groups = [...groupRecords(records, options.groupOf)];
  const kept = await Promise.all(
    groups.map(async ([group, members]) =>
      applySettlement(options.queue, members, await settleSafely(options, group, members)),
    ),
  );
  // Lambda's partial batch response: only the ids of records to keep (AWS Lambda Developer Guide, SQS).
  return { batchItemFailures: kept.flat().map((itemIdentifier) => ({ itemIdentifier })) };
};
