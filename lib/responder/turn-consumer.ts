/**
 * The responder function's batch loop. SQS FIFO hands a group's waiting messages out together and in order
 * ("SQS first attempts to return as many messages with the same message group ID as possible", AWS SQS
 * Developer Guide, FIFO delivery logic), so with batch size 10 a user's burst arrives as one turn. Groups
 * run concurrently: one slow user's responder never holds up another's replies. A turn's records share one
 * fate: all answered (Lambda deletes them), or all handed back with ChangeMessageVisibility (a deferral or
 * a retry) and reported in batchItemFailures, so the next receive returns the same turn, in order.
 * A finished turn's records are deleted at once, not when the invocation ends: a user whose turn shared a
 * batch with a slow one would otherwise wait for it before their next turn (the group stays locked while
 * its records are in flight). Lambda deletes them again after the invocation; SQS accepts a delete with a
 * receipt handle of a message already gone ("the request will still succeed", SQS API Reference,
 * DeleteMessage).
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { decodeInbound, type QueuedInbound } from '../queue/inbound-codec.ts';
import type { TurnPolicy } from './config.ts';
import { type MidReplyDeps, openTurn } from './mid-reply.ts';
import { decideFailure, decideTurn, type FailureDecision, thinkingDeadline } from './turn.ts';
import { runTurn, type TurnOutcome, type TurnRunnerDeps } from './turn-runner.ts';

/** One SQS record as plain data (functions/responder.ts maps the Lambda event to it). */
export type TurnRecord = {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Readonly<Record<string, string | undefined>>;
};

export type TurnConsumerDeps = TurnRunnerDeps & {
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  dlqUrl?: string;
  policy: TurnPolicy;
  /** When the function times out (Lambda context), if known. */
  functionDeadline?: number;
  random?: () => number;
  /** RESPONDER_MID_REPLY=restart (lib/responder/mid-reply.ts); absent = finish. */
  midReply?: MidReplyDeps;
};

export type BatchResponse = { batchItemFailures: { itemIdentifier: string }[] };

const receiveCountOf = (record: TurnRecord): number =>
  Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);

/** Groups in arrival order; within a group, SQS's order. */
const groupsOf = (records: readonly TurnRecord[]): TurnRecord[][] => {
  const groups = new Map<string, TurnRecord[]>();
  for (const r of records) {
    const group = r.attributes.MessageGroupId ?? `record:${r.messageId}`;
    groups.set(group, [...(groups.get(group) ?? []), r]);
  }
  return [...groups.values()];
};

/**
 * What a turn's outcome means for its records. A failure is retried or dead-lettered (lib/responder/turn.ts
 * decideFailure); but once a reply was enqueued the turn is done (a retry would repeat what the user already
 * saw). Out of time: the fallback went out, no retry (another attempt would think as long).
 */
export const fateOf = (
  outcome: TurnOutcome,
  receiveCount: number,
  finalReceive: boolean,
  policy: TurnPolicy,
  random: () => number,
): { kind: 'done' } | FailureDecision => {
  if (outcome.kind !== 'failed' || outcome.replies > 0) return { kind: 'done' };
  return decideFailure(outcome.error, receiveCount, finalReceive, policy, random);
};

/** Hands a turn back to SQS for `seconds` (a deferral or a retry); its ids go into batchItemFailures. */
const handBack = async (
  deps: TurnConsumerDeps,
  group: readonly TurnRecord[],
  seconds: number,
): Promise<string[]> => {
  await Promise.all(
    group.map((r) =>
      deps.sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: deps.queueUrl,
            ReceiptHandle: r.receiptHandle,
            VisibilityTimeout: seconds,
          }),
        )
        .catch((error: unknown) => {
          // It still comes back, after the queue's visibility timeout instead: late, not lost.
          deps.telemetry.metric('VisibilityChangeFailed', 1);
          deps.telemetry.log.warn('could not change message visibility', { messageId: r.messageId, error });
        }),
    ),
  );
  return group.map((r) => r.messageId);
};

/** Deletes a finished turn's records now (best effort: else Lambda deletes them when the batch ends). */
const deleteNow = async (deps: TurnConsumerDeps, group: readonly TurnRecord[]): Promise<string[]> => {
  try {
    await deps.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: deps.queueUrl,
        Entries: group.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
  } catch (error) {
    deps.telemetry.log.warn('could not delete a finished turn early; Lambda deletes it after the batch', {
      error,
    });
  }
  return [];
};

/** The group's decodable inbound events; a poison record goes to the DLQ (undefined: it could not). */
const decodeGroup = async (
  deps: TurnConsumerDeps,
  group: readonly TurnRecord[],
): Promise<QueuedInbound[] | undefined> => {
  const decoded: QueuedInbound[] = [];
  for (const r of group) {
    const d = decodeInbound(r.body);
    if (d.ok) decoded.push(d.inbound);
    else if (!(await deadLetter(r, d.reason, deps))) return undefined;
  }
  return decoded;
};

/** A failed turn that will not be retried: every record to the DLQ, then deleted (handed back if not moved). */
const deadLetterTurn = async (
  deps: TurnConsumerDeps,
  group: readonly TurnRecord[],
  decoded: readonly QueuedInbound[],
  failure: { reason: 'not_retryable' | 'kept_failing'; receiveCount: number; error: unknown },
): Promise<string[]> => {
  if (failure.reason === 'not_retryable') {
    deps.telemetry.metric('TurnsNotRetried', 1);
    deps.telemetry.log.error('responder failure cannot succeed on retry; turn dead-lettered at once', {
      eventIds: decoded.map((i) => i.event.eventId),
      receiveCount: failure.receiveCount,
      error: failure.error,
    });
  }
  const reason =
    failure.reason === 'not_retryable' ? 'responder failure not retryable' : 'responder kept failing';
  const moved = await Promise.all(group.map((r) => deadLetter(r, reason, deps)));
  return moved.every(Boolean) ? deleteNow(deps, group) : handBack(deps, group, 60);
};

/** Runs a due turn and settles its records by the outcome's fate (fateOf). */
const answerTurn = async (
  deps: TurnConsumerDeps,
  group: readonly TurnRecord[],
  decoded: readonly QueuedInbound[],
  turn: { receiveCount: number; finalReceive: boolean; startedAt: number },
): Promise<string[]> => {
  const { telemetry } = deps;
  telemetry.metric('TurnMessages', decoded.length, 'Count');
  const deadlineAt = thinkingDeadline(turn.startedAt, deps.functionDeadline, deps.policy);
  const { outcome, remember } = await runUnderPolicy(
    decoded,
    { attempt: turn.receiveCount, deadlineAt },
    deps,
  );
  telemetry.metric('TurnLatency', deps.now() - turn.startedAt, 'Milliseconds', { outcome: outcome.kind });
  const random = deps.random ?? Math.random;
  const fate = fateOf(outcome, turn.receiveCount, turn.finalReceive, deps.policy, random);
  // Only a finished turn is the next one's "previous reply": a retry must still find the earlier one.
  if (fate.kind === 'done') {
    await remember();
    return deleteNow(deps, group);
  }
  if (fate.kind === 'retry') return handBack(deps, group, fate.visibilitySeconds);
  const error = outcome.kind === 'failed' ? outcome.error : undefined;
  return deadLetterTurn(deps, group, decoded, {
    reason: fate.reason,
    receiveCount: turn.receiveCount,
    error,
  });
};

/** One user's turn: decode, defer while the burst may still grow (decideTurn), else answer it. */
const processGroup = async (deps: TurnConsumerDeps, group: readonly TurnRecord[]): Promise<string[]> => {
  const decoded = await decodeGroup(deps, group);
  if (decoded === undefined) return handBack(deps, group, 60);
  if (decoded.length === 0) return [];
  const head = group[0];
  const receiveCount = head ? receiveCountOf(head) : 1;
  const startedAt = deps.now();
  const decision = decideTurn({ inbounds: decoded, receiveCount }, startedAt, deps.policy);
  if (decision.kind === 'defer') {
    deps.telemetry.metric('TurnsDeferred', 1);
    return handBack(deps, group, decision.visibilitySeconds);
  }
  return answerTurn(deps, group, decoded, { receiveCount, finalReceive: decision.finalReceive, startedAt });
};

export const processTurns = async (
  records: readonly TurnRecord[],
  deps: TurnConsumerDeps,
): Promise<BatchResponse> => {
  const failed = await Promise.all(
    groupsOf(records).map((group) =>
      processGroup(deps, group).catch((error: unknown) => {
        // A bug or an unexpected client error: hand the group back, keep the batch alive.
        deps.telemetry.metric('ProcessingErrors', 1);
        deps.telemetry.log.error('unexpected error while processing a turn', { error });
        return group.map((r) => r.messageId);
      }),
    ),
  );
  return { batchItemFailures: failed.flat().map((itemIdentifier) => ({ itemIdentifier })) };
};

/** Runs the turn, under RESPONDER_MID_REPLY=restart (lib/responder/mid-reply.ts) when configured. */
const runUnderPolicy = async (
  inbounds: readonly QueuedInbound[],
  options: { attempt: number; deadlineAt: number },
  deps: TurnConsumerDeps,
): Promise<{ outcome: TurnOutcome; remember: () => Promise<void> }> => {
  if (deps.midReply === undefined) {
    return { outcome: await runTurn(inbounds, options, deps), remember: async () => undefined };
  }
  const policed = await openTurn(inbounds, deps.midReply, deps);
  const runner = { ...deps, responder: policed.responder, enqueue: policed.enqueue };
  return { outcome: await runTurn(inbounds, options, runner), remember: policed.remember };
};

/** Copies a record to the responder DLQ (then Lambda deletes it); false when there is none or it failed. */
const deadLetter = async (record: TurnRecord, reason: string, deps: TurnConsumerDeps): Promise<boolean> => {
  deps.telemetry.metric('TurnsDeadLettered', 1);
  deps.telemetry.log.error('turn record dead-lettered', { messageId: record.messageId, reason });
  if (!deps.dlqUrl) return false;
  try {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.dlqUrl,
        MessageBody: record.body,
        MessageGroupId: record.attributes.MessageGroupId ?? record.messageId,
        MessageDeduplicationId: record.messageId,
        MessageAttributes: {
          EllipsisReason: { DataType: 'String', StringValue: reason.slice(0, 256) || 'unknown' },
        },
      }),
    );
    return true;
  } catch (error) {
    deps.telemetry.log.error('could not copy a record to the DLQ', { messageId: record.messageId, error });
    return false;
  }
};
