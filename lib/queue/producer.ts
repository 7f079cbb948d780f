/**
 * Enqueues a planned sequence on the FIFO step queue: one SQS message per step, all in the user's message
 * group, in step order, with deterministic deduplication ids — normally with ONE SendMessageBatch.
 *
 * Ordering and retries (AWS SQS API Reference, SendMessageBatch): "For a FIFO queue, multiple messages
 * within a single batch are enqueued in the order they are sent", and "the batch request can result in a
 * combination of successful and unsuccessful actions, you should check for batch errors even when the call
 * returns an HTTP status code of 200". Nothing in the API reference or the FIFO delivery-logic guide says a
 * failed entry also fails the later entries of its group, so we must assume entry k can fail while entry
 * k+1 of the same group is accepted. Our retry re-sends from the first failed entry onward with the SAME
 * dedup ids: already-accepted entries become no-ops, so nothing is duplicated, and when the failure was a
 * tail (everything from k on failed — the usual shape, e.g. a throttled or failed request) the re-sent
 * entries land behind the accepted ones in the original order. Dedup ids cannot move an entry, though: if
 * a LATER entry was accepted before an earlier one failed, that later step stays ahead of the re-sent one
 * and the sequence is out of order. We cannot repair that from the producer (there is no "insert before"),
 * so it is reported (warn log + `EnqueueOutOfOrder` metric) and the sender's step `index` makes it visible.
 *
 * Deduplication window caveat (SQS Developer Guide, "Exactly-once processing"): a deduplication id only
 * suppresses duplicates sent within 5 minutes of the first. A Meta re-delivery that arrives later would
 * enqueue the whole sequence again, so the webhook keeps a durable record of answered events on top
 * (lib/webhook/webhook.ts, the state table); a console send with the same sequenceId is idempotent for 5 minutes only.
 *
 * FIFO queues reject per-message DelaySeconds (SQS API Reference, SendMessageBatchRequestEntry.DelaySeconds:
 * "When you set FifoQueue, you can't set DelaySeconds per message"), so timing lives in each body's
 * delayMs/dueAt and the sender defers with ChangeMessageVisibility.
 */
import { createHash } from 'node:crypto';
import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SendMessageBatchResult,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describeIssues } from '../platform/issues.ts';
import type { Telemetry } from '../platform/telemetry.ts';
import * as z from '../platform/zod.ts';
import { encodeStep, groupIdOf, QUEUE_BODY_VERSION, type QueuedStep } from './codec.ts';
import type { Channel } from './recipient.ts';
import {
  backoff,
  EnqueueError,
  isRetryableSdkError,
  type RetryPolicy,
  retryPolicyOf,
  sdkErrorName,
} from './retry.ts';
import { queueUrlOf } from './shards.ts';
import type { Step } from './step.ts';

export type SequenceToEnqueue = {
  /** Messenger when absent. */
  channel?: Channel;
  pageId: string;
  psid: string;
  sequenceId: string;
  /** The inbound message answered, when the channel's calls name it (WhatsApp read + typing). */
  inboundMid?: string;
  steps: readonly Step[];
  plannedAt: number;
  /** When the user message it answers arrived (codec.ts `originAt`); absent: plannedAt. */
  originAt?: number;
  /** The same steps may have been enqueued before under the same ids (codec.ts, `replayed`). */
  replayed?: true;
};

export type EnqueueDeps = {
  sqs: SQSClient;
  queueUrl: string;
  /** The queue's shards (shard 0 first); when set, a group's shard is used instead of queueUrl (shards.ts). */
  queueUrls?: readonly string[];
  sleep?: (ms: number) => Promise<void>;
  /** Attempts per batch, the first included. */
  maxAttempts?: number;
  random?: () => number;
  /** Where retries and out-of-order acceptance are reported; optional so the function stays easy to call. */
  telemetry?: Pick<Telemetry, 'log' | 'metric'>;
};

/** SQS limits (API Reference, SendMessageBatch): 10 entries per batch. */
const MAX_BATCH_ENTRIES = 10;
/**
 * Total payload per batch. SQS raised the limit to 1 MiB (API Reference, SendMessageBatch); we keep the
 * long-standing 256 KiB so the same code works against older limits and local SQS servers. A step body
 * is at most a few KiB (2000-character text, ASCII-escaped), so a sequence virtually always fits in one.
 */
export const MAX_BATCH_BYTES = 262_144;
/** SQS MessageDeduplicationId: up to 128 characters from alphanumerics and ASCII punctuation. */
const DEDUP_ID = /^[\x21-\x7e]{1,128}$/;

/** `${sequenceId}:${index}`; the sha256 hex of it when too long or outside SQS's dedup-id alphabet. */
export const dedupIdOf = (sequenceId: string, index: number): string => {
  const plain = `${sequenceId}:${index}`;
  return DEDUP_ID.test(plain) ? plain : createHash('sha256').update(plain).digest('hex');
};

/** The queued bodies of a sequence: dueAt accumulates the delays, index/count let the sender check order. */
export const queuedStepsOf = (seq: SequenceToEnqueue): QueuedStep[] => {
  let dueAt = seq.plannedAt;
  return seq.steps.map((step, index) => {
    dueAt += step.delayMs;
    return {
      v: QUEUE_BODY_VERSION,
      ...(seq.channel !== undefined && seq.channel !== 'messenger' && { channel: seq.channel }),
      pageId: seq.pageId,
      psid: seq.psid,
      sequenceId: seq.sequenceId,
      ...(seq.inboundMid !== undefined && { inboundMid: seq.inboundMid }),
      index,
      count: seq.steps.length,
      ...(seq.replayed && { replayed: true as const }),
      delayMs: step.delayMs,
      ...(seq.originAt !== undefined && { originAt: Math.round(seq.originAt) }),
      plannedAt: seq.plannedAt,
      dueAt,
      action: step.action,
      ...(step.skippableAfterMs !== undefined && { skippableAfterMs: step.skippableAfterMs }),
      ...(step.refresh && { refresh: true as const }),
    };
  });
};

type Entry = SendMessageBatchRequestEntry & { Id: string; MessageBody: string };

/** Consecutive batches of ≤ 10 entries and ≤ MAX_BATCH_BYTES, in step order. */
export const splitIntoBatches = (entries: readonly Entry[]): Entry[][] => {
  const batches: Entry[][] = [];
  let current: Entry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.MessageBody, 'utf8');
    if (size > MAX_BATCH_BYTES) {
      throw new EnqueueError(
        'too_large',
        false,
        `step ${entry.Id} is ${size} bytes, above ${MAX_BATCH_BYTES}`,
      );
    }
    if (current.length === MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
};

/** One SQS entry per step, all in the user's group; a step the codec rejects fails the whole sequence. */
export const entriesOf = (seq: SequenceToEnqueue, groupId: string): Entry[] => {
  try {
    // No DelaySeconds: FIFO queues reject it per message (see the header comment).
    return queuedStepsOf(seq).map((q) => ({
      Id: String(q.index),
      MessageBody: encodeStep(q),
      MessageGroupId: groupId,
      MessageDeduplicationId: dedupIdOf(seq.sequenceId, q.index),
    }));
  } catch (error) {
    // encodeStep validates with zod; the issues name the field and the rule, never the user's text.
    const what = error instanceof z.$ZodError ? describeIssues(error.issues) : sdkErrorName(error);
    throw new EnqueueError('invalid_step', false, `sequence has an invalid step (${what})`);
  }
};

/**
 * One SendMessageBatch call. A thrown SDK error that is worth another attempt gives undefined; any other,
 * or the last attempt's, becomes an EnqueueError.
 */
const trySend = async (
  deps: EnqueueDeps,
  pending: Entry[],
  attempt: number,
  maxAttempts: number,
): Promise<SendMessageBatchResult | undefined> => {
  try {
    return await deps.sqs.send(new SendMessageBatchCommand({ QueueUrl: deps.queueUrl, Entries: pending }));
  } catch (error) {
    const name = sdkErrorName(error);
    if (!isRetryableSdkError(error)) {
      throw new EnqueueError('sdk_error', false, `SendMessageBatch failed: ${name}`);
    }
    if (attempt >= maxAttempts) {
      throw new EnqueueError('sdk_error', true, `SendMessageBatch failed after ${attempt} attempts: ${name}`);
    }
    return undefined;
  }
};

/** Entries accepted AFTER the first failed one cannot be put back in order: report them (header comment). */
const reportOutOfOrder = (deps: EnqueueDeps, acceptedAfter: number, groupSteps: number, codes: string) => {
  if (acceptedAfter === 0) return;
  deps.telemetry?.metric('EnqueueOutOfOrder', acceptedAfter);
  deps.telemetry?.log.warn('FIFO batch accepted steps after a failed one; order cannot be restored', {
    groupSteps,
    acceptedAfter,
    codes,
  });
};

/** What to re-send after a batch came back with failed entries: from the first failed entry on. */
const remainingAfterFailures = (
  deps: EnqueueDeps,
  pending: Entry[],
  failed: readonly BatchResultErrorEntry[],
  attempt: number,
  maxAttempts: number,
): Entry[] => {
  const codes = [...new Set(failed.map((f) => f.Code ?? 'unknown'))].join(',');
  if (failed.some((f) => f.SenderFault)) {
    // A sender fault (invalid body, bad id…) fails the same way every time: do not retry.
    throw new EnqueueError('rejected', false, `SendMessageBatch rejected ${failed.length} entries: ${codes}`);
  }
  const failedIds = new Set(failed.map((f) => f.Id));
  const firstFailed = pending.findIndex((e) => failedIds.has(e.Id));
  const acceptedAfter = pending.slice(firstFailed + 1).filter((e) => !failedIds.has(e.Id)).length;
  reportOutOfOrder(deps, acceptedAfter, pending.length, codes);
  if (attempt >= maxAttempts) {
    throw new EnqueueError(
      'failed_entries',
      true,
      `SendMessageBatch left ${failed.length} entries failed after ${attempt} attempts: ${codes}`,
    );
  }
  // Same dedup ids: entries SQS already accepted are acknowledged again but not stored twice.
  return pending.slice(firstFailed === -1 ? 0 : firstFailed);
};

/**
 * The entries to treat as failed: those SQS listed in `Failed`, and any it listed nowhere. SendMessageBatch
 * reports every entry in one of its two lists; one missing from both was not confirmed stored, so it is
 * sent again (same dedup id: a copy SQS did store is dropped) rather than counted as enqueued.
 */
const failedEntriesOf = (result: SendMessageBatchResult, pending: Entry[]): BatchResultErrorEntry[] => {
  const listed = new Set([...(result.Successful ?? []), ...(result.Failed ?? [])].map((e) => e.Id));
  const unaccounted = pending
    .filter((e) => !listed.has(e.Id))
    .map((e) => ({ Id: e.Id, Code: 'Unaccounted', SenderFault: false }));
  return [...(result.Failed ?? []), ...unaccounted];
};

/** Sends one batch until every entry is accepted (recording the message ids) or the attempts run out. */
const sendBatch = async (
  deps: EnqueueDeps,
  policy: RetryPolicy,
  batch: Entry[],
  messageIds: Map<string, string>,
): Promise<void> => {
  let pending = batch;
  for (let attempt = 1; ; attempt++) {
    const result = await trySend(deps, pending, attempt, policy.maxAttempts);
    if (result !== undefined) {
      for (const ok of result.Successful ?? [])
        if (ok.Id && ok.MessageId) messageIds.set(ok.Id, ok.MessageId);
      const failed = failedEntriesOf(result, pending);
      if (failed.length === 0) return;
      pending = remainingAfterFailures(deps, pending, failed, attempt, policy.maxAttempts);
    }
    deps.telemetry?.metric('EnqueueRetries', 1);
    await backoff(policy, attempt);
  }
};

/** The deps with queueUrl set to the group's shard, when the queue has shards. */
export const withShard = (deps: EnqueueDeps, groupId: string): EnqueueDeps =>
  deps.queueUrls && deps.queueUrls.length > 1
    ? { ...deps, queueUrl: queueUrlOf(deps.queueUrls, groupId) }
    : deps;

export const enqueueSequence = async (
  deps: EnqueueDeps,
  seq: SequenceToEnqueue,
): Promise<{ groupId: string; messageIds: string[] }> => {
  const groupId = groupIdOf(seq.pageId, seq.psid);
  if (seq.steps.length === 0) return { groupId, messageIds: [] };
  const entries = entriesOf(seq, groupId);
  const target = withShard(deps, groupId);
  const policy = retryPolicyOf(deps);
  const messageIds = new Map<string, string>();
  // Batches one after the other: a later batch of the group must not overtake an earlier one.
  for (const batch of splitIntoBatches(entries)) await sendBatch(target, policy, batch, messageIds);
  return { groupId, messageIds: entries.map((e) => messageIds.get(e.Id) ?? '') };
};
