/**
 * Enqueues many units (one sequence's steps, or one inbound event: what must be accepted whole) of many
 * users in the rounds lib/queue/batch-pack.ts packs. When a unit's entry fails for good, that unit and every
 * later unit of its group fail (not sent), as one group's order requires; other groups are unaffected.
 *
 * Each packed batch as one SendMessageBatch, a
 * bounded number at once, retried by the producers' one policy (retry.ts). A batch's answer is read per
 * lane (message group): an accepted slice leaves its lane, a failed entry is re-sent with the rest of its
 * lane's slice (same dedup ids, so what SQS already holds is not stored twice), a sender fault or the last
 * attempt fails the lane — never the other lanes of the batch.
 */
import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchResult,
} from '@aws-sdk/client-sqs';
import {
  type Batch,
  type BatchProducerDeps,
  type Lane,
  lanesOf,
  type Pending,
  packRound,
  type Unit,
} from './batch-pack.ts';
import { backoff, isRetryableSdkError, retryPolicyOf, sdkErrorName } from './retry.ts';

/** Under the SDK's 50 sockets per host, so a body's calls never queue for one (8 left ~3 s of a 1,000-event ack). */
const DEFAULT_CONCURRENCY = 32;

type Slice = Batch['slices'][number];
type Sent = { slice: Slice; item: Pending; id: string };

/** Entry ids unique within the call: the position in the batch. */
const numbered = (slices: readonly Slice[]): Sent[] =>
  slices
    .flatMap((slice) => slice.items.map((item) => ({ slice, item })))
    .map((s, i) => ({ ...s, id: String(i) }));

/** One call; undefined when it threw something worth another attempt, the thrown name otherwise. */
const call = async (
  deps: BatchProducerDeps,
  queueUrl: string,
  sent: readonly Sent[],
): Promise<SendMessageBatchResult | { thrown: string; retryable: boolean }> => {
  try {
    return await deps.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: sent.map((s) => ({ ...s.item.entry, Id: s.id })),
      }),
    );
  } catch (error) {
    return { thrown: sdkErrorName(error), retryable: isRetryableSdkError(error) };
  }
};

/** Failed entries by id: those SQS listed as failed and those it listed nowhere (not confirmed stored). */
const failuresOf = (
  result: SendMessageBatchResult,
  sent: readonly Sent[],
): Map<string, BatchResultErrorEntry> => {
  const ok = new Set((result.Successful ?? []).map((e) => e.Id));
  const failed = new Map((result.Failed ?? []).map((f) => [f.Id ?? '', f]));
  for (const s of sent)
    if (!ok.has(s.id) && !failed.has(s.id))
      failed.set(s.id, { Id: s.id, Code: 'Unaccounted', SenderFault: false });
  return failed;
};

type Verdict = { retry: Slice[]; failed: { lane: Lane; unit: number }[] };

/** Per lane: all accepted (drop the slice), a sender fault (fail), or re-send from the first failed entry. */
const judge = (
  sent: readonly Sent[],
  failures: ReadonlyMap<string, BatchResultErrorEntry>,
  last: boolean,
): Verdict => {
  const verdict: Verdict = { retry: [], failed: [] };
  for (const slice of new Set(sent.map((s) => s.slice))) {
    const mine = sent.filter((s) => s.slice === slice);
    const first = mine.findIndex((s) => failures.has(s.id));
    if (first === -1) continue;
    const fault = mine.some((s) => failures.get(s.id)?.SenderFault);
    const rest = mine.slice(first).map((s) => s.item);
    if (fault || last) verdict.failed.push({ lane: slice.lane, unit: rest[0]?.unit ?? 0 });
    else verdict.retry.push({ lane: slice.lane, items: rest });
  }
  return verdict;
};

/** Reports entries SQS accepted behind a failed one of their group: their order cannot be restored. */
const reportOutOfOrder = (
  deps: BatchProducerDeps,
  sent: readonly Sent[],
  failures: ReadonlyMap<string, unknown>,
) => {
  let after = 0;
  for (const slice of new Set(sent.map((s) => s.slice))) {
    const mine = sent.filter((s) => s.slice === slice);
    const first = mine.findIndex((s) => failures.has(s.id));
    if (first !== -1) after += mine.slice(first + 1).filter((s) => !failures.has(s.id)).length;
  }
  if (after === 0) return;
  deps.telemetry?.metric('EnqueueOutOfOrder', after);
  deps.telemetry?.log.warn('FIFO batch accepted entries after a failed one of their group', {
    acceptedAfter: after,
  });
};

/** One batch until its lanes are accepted or failed; a lane's accepted entries leave its pending list. */
const sendOne = async (
  deps: BatchProducerDeps,
  batch: Batch,
  failedLanes: Map<Lane, number>,
): Promise<void> => {
  const policy = retryPolicyOf(deps);
  let slices = batch.slices;
  for (let attempt = 1; slices.length > 0; attempt++) {
    const sent = numbered(slices);
    const last = attempt >= policy.maxAttempts;
    const result = await call(deps, batch.queueUrl, sent);
    if ('thrown' in result) {
      if (!result.retryable || last) {
        for (const s of slices) failedLanes.set(s.lane, s.items[0]?.unit ?? 0);
        deps.telemetry?.log.error('SendMessageBatch failed', { error: result.thrown, attempts: attempt });
        return;
      }
    } else {
      const failures = failuresOf(result, sent);
      reportOutOfOrder(deps, sent, failures);
      const verdict = judge(sent, failures, last);
      for (const f of verdict.failed) failedLanes.set(f.lane, f.unit);
      slices = verdict.retry;
    }
    if (slices.length > 0) {
      deps.telemetry?.metric('EnqueueRetries', 1);
      await backoff(policy, attempt);
    }
  }
};

/** The lanes' pending lists lose what this round carried (accepted, or failed with the lane). */
const consume = (batches: readonly Batch[]) => {
  for (const batch of batches)
    for (const slice of batch.slices) slice.lane.pending.splice(0, slice.items.length);
};

/** Every batch of a round, at most `concurrency` in flight. */
const sendPacked = async (
  deps: BatchProducerDeps,
  batches: readonly Batch[],
  failedLanes: Map<Lane, number>,
): Promise<void> => {
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      if (batch) await sendOne(deps, batch, failedLanes);
    }
  };
  const width = Math.max(1, Math.min(deps.concurrency ?? DEFAULT_CONCURRENCY, batches.length));
  await Promise.all(Array.from({ length: width }, worker));
  consume(batches);
};

/** Units that failed: the unit of the first entry not accepted in each failed lane, and every later one. */
const failedUnits = (units: readonly Unit[], failedLanes: ReadonlyMap<Lane, number>): Set<number> => {
  const failed = new Set<number>();
  for (const [lane, fromUnit] of failedLanes) {
    units.forEach((u, i) => {
      if (i >= fromUnit && u.queueUrl === lane.queueUrl && u.groupId === lane.groupId) failed.add(i);
    });
  }
  return failed;
};

/**
 * Enqueues every unit; returns the indices of the units that were not (all accepted: an empty set). Never
 * throws for an SQS failure: which units failed is the answer.
 */
export const enqueueUnits = async (deps: BatchProducerDeps, units: readonly Unit[]): Promise<Set<number>> => {
  const lanes = lanesOf(units);
  const failedLanes = new Map<Lane, number>();
  const queues = [...new Set(lanes.map((l) => l.queueUrl))];
  for (;;) {
    const live = lanes.filter((l) => l.pending.length > 0 && !failedLanes.has(l));
    if (live.length === 0) break;
    const round = queues.flatMap((q) =>
      packRound(
        q,
        live.filter((l) => l.queueUrl === q),
      ),
    );
    await sendPacked(deps, round, failedLanes);
    deps.telemetry?.metric('EnqueueBatches', round.length);
  }
  return failedUnits(units, failedLanes);
};
