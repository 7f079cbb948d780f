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
 */
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { abortKey, type Ledger } from '../platform/ledger.ts';
import { type Telemetry, userLabel } from '../platform/telemetry.ts';
import { decodeStep, groupIdOf, type QueuedStep } from '../queue/codec.ts';
import { actionKind } from '../queue/step.ts';
import type { GraphFailure, SendActionRequest, SendResult, UsageReading } from './graph.ts';
import {
  decideStep,
  isFinalReceive,
  MAX_VISIBILITY_SECONDS,
  retryDelaySeconds,
  type SenderTuning,
  type SqsTiming,
} from './schedule.ts';

/** One SQS record, as plain data (functions/sender.ts maps the Lambda event to this). */
export type ConsumerRecord = {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** SQS system attributes: MessageGroupId, ApproximateReceiveCount, ApproximateFirstReceiveTimestamp, … */
  attributes: Readonly<Record<string, string | undefined>>;
};

export type GraphSender = {
  sendAction: (request: SendActionRequest) => Promise<SendResult>;
  /** The latest Graph usage reading, if the client keeps one. */
  usage?: () => UsageReading | undefined;
};

export type ConsumerDeps = {
  graph: GraphSender;
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  dlqUrl?: string;
  ledger: Ledger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  telemetry: Telemetry;
  tuning: SenderTuning;
  /** For backoff jitter; Math.random by default. */
  random?: () => number;
};

export type BatchResponse = { batchItemFailures: { itemIdentifier: string }[] };

/** A usage reading older than this no longer holds the sender back (Graph's windows roll continuously). */
export const USAGE_READING_FRESH_MS = 60_000;

/** Outcome of one record: done (Lambda deletes it) or returned with a new visibility timeout. */
type Outcome =
  | { done: true; completedAt: number }
  | { done: false; visibilitySeconds: number; sleepMs?: number };

const toTiming = (attributes: ConsumerRecord['attributes']): SqsTiming => {
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

/** The record's FIFO group: the attribute, else the decoded step's, else its own (a poison body). */
const groupOf = (record: ConsumerRecord): string => {
  const attribute = record.attributes.MessageGroupId;
  if (attribute) return attribute;
  const decoded = decodeStep(record.body);
  return decoded.ok ? groupIdOf(decoded.step.pageId, decoded.step.psid) : `record:${record.messageId}`;
};

const errorText = (error: unknown): string => (error instanceof Error ? error.name : 'unknown error');

const failureAttributes = (failure: GraphFailure) => ({
  status: failure.status,
  code: failure.code,
  subcode: failure.subcode,
  type: failure.type,
  fbtraceId: failure.fbtraceId,
  reason: failure.reason,
});

const codeLabel = (failure: GraphFailure): string =>
  failure.code !== undefined ? String(failure.code) : failure.status ? `http${failure.status}` : 'network';

export const processBatch = async (
  records: readonly ConsumerRecord[],
  deps: ConsumerDeps,
): Promise<BatchResponse> => {
  const { telemetry, tuning } = deps;
  const { log, metric } = telemetry;
  const random = deps.random ?? Math.random;

  const changeVisibility = async (record: ConsumerRecord, seconds: number): Promise<void> => {
    try {
      await deps.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: deps.queueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(seconds))),
        }),
      );
    } catch (error) {
      // The record still comes back, after the queue's visibility timeout instead: late, not lost.
      log.warn('could not change message visibility', {
        messageId: record.messageId,
        error: errorText(error),
      });
      metric('VisibilityChangeFailed', 1);
    }
  };

  /** Copies a record to the DLQ; false when there is none or the send failed. */
  const sendToDlq = async (record: ConsumerRecord, group: string, reason: string): Promise<boolean> => {
    if (!deps.dlqUrl) return false;
    try {
      const fifo = deps.dlqUrl.endsWith('.fifo');
      await deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: deps.dlqUrl,
          MessageBody: record.body,
          // A FIFO DLQ requires a group; content-based dedup may be off, so name the copy by the source id.
          ...(fifo && { MessageGroupId: group, MessageDeduplicationId: record.messageId }),
          MessageAttributes: {
            EllipsisReason: { DataType: 'String', StringValue: reason.slice(0, 256) || 'unknown' },
            EllipsisSourceMessageId: { DataType: 'String', StringValue: record.messageId },
          },
        }),
      );
      return true;
    } catch (error) {
      log.error('could not copy a record to the DLQ', {
        messageId: record.messageId,
        error: errorText(error),
      });
      return false;
    }
  };

  const backoff = (timing: SqsTiming, retryAfterMs?: number): number =>
    retryDelaySeconds({ receiveCount: timing.receiveCount, retryAfterMs, random }, tuning);

  /** Permanent failure or exhausted retries: stop the sequence, clear the typing bubble, count it. */
  const abortSequence = async (step: QueuedStep, group: string, failure: GraphFailure): Promise<void> => {
    const kind = actionKind(step.action);
    const user = userLabel(step.psid);
    log.error('step failed permanently; sequence aborted', {
      user,
      sequenceId: step.sequenceId,
      index: step.index,
      action: kind,
      ...failureAttributes(failure),
    });
    metric('StepsFailed', 1, 'Count', { code: codeLabel(failure) });
    if (failure.tokenInvalid) {
      metric('PageTokenInvalid', 1);
      log.error('page access token rejected by Graph: replace it', {
        code: failure.code,
        subcode: failure.subcode,
      });
    }
    if (failure.recipientUnreachable) metric('RecipientUnreachable', 1);
    try {
      await deps.ledger.record(abortKey(group, step.sequenceId));
    } catch (error) {
      // Later steps will then be tried and most likely fail the same way: noisy, not wrong.
      log.error('could not record the abort', { user, sequenceId: step.sequenceId, error: errorText(error) });
    }
    const typingShown = kind === 'message' || kind === 'typing_on';
    if (typingShown && !failure.tokenInvalid && !failure.recipientUnreachable) {
      const off = await deps.graph
        .sendAction({ pageId: step.pageId, psid: step.psid, action: { sender_action: 'typing_off' } })
        .catch(() => undefined);
      if (!off?.ok) metric('TypingOffFailed', 1);
    }
  };

  const handlePoison = async (record: ConsumerRecord, group: string, reason: string, timing: SqsTiming) => {
    metric('PoisonMessages', 1);
    log.error('undecodable queue record', { messageId: record.messageId, reason: reason.slice(0, 500) });
    if (await sendToDlq(record, group, reason)) return { done: true, completedAt: deps.now() } as const;
    // No DLQ (or it failed): return it; SQS's redrive moves it after maxReceiveCount receives.
    return { done: false, visibilitySeconds: backoff(timing) } as const;
  };

  const processRecord = async (
    record: ConsumerRecord,
    group: string,
    predecessorDoneAt: number | undefined,
  ): Promise<Outcome> => {
    const timing = toTiming(record.attributes);
    const decoded = decodeStep(record.body);
    if (!decoded.ok) return handlePoison(record, group, decoded.reason, timing);
    const step = decoded.step;
    const kind = actionKind(step.action);
    const user = userLabel(step.psid);
    const finalReceive = isFinalReceive(timing.receiveCount, tuning.QUEUE_MAX_RECEIVE_COUNT);

    // Step 0 cannot follow an abort of its own sequence: skip the lookup.
    if (step.index > 0) {
      let aborted = false;
      try {
        aborted = await deps.ledger.has(abortKey(group, step.sequenceId));
      } catch (error) {
        // Fail open: an unreadable ledger must not stall every user; an aborted sequence fails again anyway.
        log.warn('abort ledger unreadable; sending', { user, error: errorText(error) });
        metric('LedgerReadFailed', 1);
      }
      if (aborted) {
        metric('StepsDropped', 1, 'Count', { action: kind });
        log.info('step dropped: sequence aborted', { user, sequenceId: step.sequenceId, index: step.index });
        return { done: true, completedAt: deps.now() };
      }
    }

    const decision = decideStep({ step, timing, now: deps.now(), predecessorDoneAt }, tuning);
    if (decision.kind === 'skip') {
      metric('StepsSkipped', 1, 'Count', { action: kind });
      log.info('stale step skipped', { user, sequenceId: step.sequenceId, index: step.index, action: kind });
      // Counted as done at its own due time, so skipping removes lag instead of adding the next pause to it.
      return { done: true, completedAt: Math.min(decision.due.dueAt, deps.now()) };
    }
    if (decision.kind === 'defer' && !finalReceive) {
      metric('StepsDeferred', 1, 'Count', { action: kind });
      return { done: false, visibilitySeconds: decision.visibilitySeconds, sleepMs: decision.sleepMs };
    }
    if (decision.kind === 'defer') metric('StepsForcedEarly', 1, 'Count', { action: kind });
    if (decision.kind === 'wait') {
      await deps.sleep(decision.waitMs);
      // Node measures timers from the event loop's cached time, so on a busy loop a timer can fire early
      // against the wall clock: top up (bounded, in case an injected sleep does not move the clock).
      for (let topUps = 0; topUps < 3 && deps.now() < decision.due.dueAt; topUps += 1)
        await deps.sleep(decision.due.dueAt - deps.now());
    }

    const usage = deps.graph.usage?.();
    if (usage && !finalReceive && deps.now() - usage.readAt < USAGE_READING_FRESH_MS) {
      const regainAt = usage.readAt + usage.regainAccessMs;
      if (usage.maxPercent >= tuning.SENDER_USAGE_THRESHOLD_PERCENT || regainAt > deps.now()) {
        metric('StepsThrottled', 1);
        log.warn('Graph usage near its limit; step deferred', { user, usagePercent: usage.maxPercent });
        return { done: false, visibilitySeconds: backoff(timing, Math.max(0, regainAt - deps.now())) };
      }
    }

    const startedAt = deps.now();
    metric('StepLateness', startedAt - decision.due.dueAt, 'Milliseconds', { action: kind });
    metric('StepLatenessVsPlan', startedAt - step.dueAt, 'Milliseconds', { action: kind });
    const result = await deps.graph.sendAction({ pageId: step.pageId, psid: step.psid, action: step.action });
    metric('GraphLatency', result.latencyMs, 'Milliseconds');
    if (result.ok) {
      metric('StepsSent', 1, 'Count', { action: kind });
      if (result.unexpectedBody) metric('GraphUnexpectedSuccessBody', 1);
      if (decision.due.catchUp) metric('StepsCaughtUp', 1, 'Count', { action: kind });
      return { done: true, completedAt: deps.now() };
    }
    if (result.kind === 'transient' && !finalReceive) {
      metric('StepsRetried', 1, 'Count', { code: codeLabel(result) });
      const visibilitySeconds = backoff(timing, result.retryAfterMs);
      log.warn('transient Graph failure; step will be retried', {
        user,
        sequenceId: step.sequenceId,
        index: step.index,
        action: kind,
        receiveCount: timing.receiveCount,
        retryInSeconds: visibilitySeconds,
        ...failureAttributes(result),
      });
      return { done: false, visibilitySeconds };
    }
    if (result.kind === 'transient') {
      metric('StepsGivenUp', 1, 'Count', { code: codeLabel(result) });
      await sendToDlq(record, group, `retry budget exhausted: ${result.reason}`);
    }
    await abortSequence(step, group, result);
    return { done: true, completedAt: deps.now() };
  };

  /** Runs one group in order; returns the message ids to report as failures. */
  const processGroup = async (group: string, members: readonly ConsumerRecord[]): Promise<string[]> => {
    let predecessorDoneAt: number | undefined;
    for (const [position, record] of members.entries()) {
      let outcome: Outcome;
      try {
        outcome = await processRecord(record, group, predecessorDoneAt);
      } catch (error) {
        // A bug or an unexpected client error: return the rest of the group, keep the batch alive.
        log.error('unexpected error while processing a record', {
          messageId: record.messageId,
          error: errorText(error),
        });
        metric('ProcessingErrors', 1);
        outcome = { done: false, visibilitySeconds: tuning.RETRY_BASE_SECONDS };
      }
      if (outcome.done) {
        predecessorDoneAt = outcome.completedAt;
        continue;
      }
      if (outcome.sleepMs) await deps.sleep(outcome.sleepMs);
      // FIFO order: every later record of the group goes back too. Lambda leaves returned records invisible
      // for the rest of their visibility timeout (AWS Lambda Developer Guide, SQS FIFO + partial batch
      // responses), so set theirs to the head's: they come back together, in order.
      const returned = members.slice(position);
      await Promise.all(returned.map((r) => changeVisibility(r, outcome.visibilitySeconds)));
      if (returned.length > 1) metric('FollowersReturned', returned.length - 1);
      return returned.map((r) => r.messageId);
    }
    return [];
  };

  const groups = new Map<string, ConsumerRecord[]>();
  for (const record of records) {
    const group = groupOf(record);
    const members = groups.get(group);
    if (members) members.push(record);
    else groups.set(group, [record]);
  }
  const failed = await Promise.all([...groups].map(([group, members]) => processGroup(group, members)));
  // Lambda's partial batch response: only the ids of records to keep (AWS Lambda Developer Guide, SQS).
  return { batchItemFailures: failed.flat().map((itemIdentifier) => ({ itemIdentifier })) };
};
