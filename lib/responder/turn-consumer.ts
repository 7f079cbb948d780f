/**
 * The responder function's turns, on the one FIFO consumer (lib/queue/consumer/). SQS FIFO hands a group's waiting messages out together and in order
 * ("SQS first attempts to return as many messages with the same message group ID as possible", AWS SQS
 * Developer Guide, FIFO delivery logic), so with batch size 10 a user's burst arrives as one turn. Groups
 * run concurrently: one slow user's responder never holds up another's replies. A turn's records share one
 * fate: all answered (Lambda deletes them), or all handed back with ChangeMessageVisibility (a deferral or
 * a retry) and reported in batchItemFailures, so the next receive returns the same turn, in order.
 * A finished turn's records are deleted at once, not when the invocation ends: a user whose turn shared a
 * batch with a slow one would otherwise wait for it before their next turn (the group stays locked while
 * its records are in flight).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { disclosureDue, isWithheld, type UserRecord } from '../platform/conversation-state.ts';
import { groupIdOf } from '../queue/codec.ts';
import { type BatchResponse, type GroupSettlement, processFifoBatch } from '../queue/consumer/batch.ts';
import { copyAllToDlq, copyToDlq } from '../queue/consumer/queue-writes.ts';
import { type QueueRecord, receiveCountOf } from '../queue/consumer/record.ts';
import { decodeInbound, type QueuedInbound } from '../queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../queue/producer.ts';
import type { ShardQueue } from '../queue/shards.ts';
import type { TurnPolicy } from './config.ts';
import { abortableBy, disclosing, observeHeld, splitTurn, type TurnHold, watchHold } from './hold.ts';
import { type MidReplyDeps, openTurn } from './mid-reply.ts';
import { decideFailure, decideTurn, type FailureDecision, thinkingDeadline } from './turn.ts';
import { runTurn, type TurnOutcome, type TurnRunnerDeps } from './turn-runner.ts';

export type TurnConsumerDeps = TurnRunnerDeps & {
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  dlqUrl?: string;
  /** The queue's shards, each with its DLQ: a record is answered on its own (lib/queue/shards.ts). */
  shards?: readonly ShardQueue[];
  policy: TurnPolicy;
  /** When the function times out (Lambda context), if known. */
  functionDeadline?: number;
  random?: () => number;
  /** RESPONDER_MID_REPLY=restart (lib/responder/mid-reply.ts); absent = finish. */
  midReply?: MidReplyDeps;
  /** Who holds each conversation (lib/responder/hold.ts); absent: every turn is answered. */
  hold?: TurnHold;
};

/** A turn whose records could not all be dead-lettered comes back after this, to try again. */
const DEAD_LETTER_RETRY_SECONDS = 60;

const done: GroupSettlement = { kind: 'done', deleteNow: true };
const handBack = (seconds: number): GroupSettlement => ({
  kind: 'return',
  from: 0,
  visibilitySeconds: seconds,
});

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

const groupOfRecord = (record: QueueRecord): string =>
  record.attributes.MessageGroupId ?? `record:${record.messageId}`;

/** Copies a record to the responder DLQ (then it is deleted); false when there is none or it failed. */
const deadLetter = async (record: QueueRecord, reason: string, deps: TurnConsumerDeps): Promise<boolean> => {
  deps.telemetry.metric('TurnsDeadLettered', 1);
  deps.telemetry.log.error('turn record dead-lettered', { messageId: record.messageId, reason });
  return copyToDlq(deps, record, groupOfRecord(record), reason);
};

/** The group's decodable inbound events; a poison record goes to the DLQ (undefined: it could not). */
const decodeGroup = async (
  deps: TurnConsumerDeps,
  group: readonly QueueRecord[],
): Promise<QueuedInbound[] | undefined> => {
  const decoded: QueuedInbound[] = [];
  for (const r of group) {
    const d = decodeInbound(r.body);
    if (d.ok) decoded.push(d.inbound);
    else if (!(await deadLetter(r, d.reason, deps))) return undefined;
  }
  return decoded;
};

/** A failed turn that will not be retried: every record to the DLQ, then deleted (handed back if not all moved). */
const deadLetterTurn = async (
  deps: TurnConsumerDeps,
  group: readonly QueueRecord[],
  decoded: readonly QueuedInbound[],
  failure: { reason: 'not_retryable' | 'kept_failing'; receiveCount: number; error: unknown },
): Promise<GroupSettlement> => {
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
  deps.telemetry.metric('TurnsDeadLettered', group.length);
  deps.telemetry.log.error('turn dead-lettered', { messageIds: group.map((r) => r.messageId), reason });
  const head = group[0];
  const moved = head !== undefined && (await copyAllToDlq(deps, group, groupOfRecord(head), reason));
  return moved ? done : handBack(DEAD_LETTER_RETRY_SECONDS);
};

/** Runs a due turn and settles its records by the outcome's fate (fateOf). */
const answerTurn = async (
  deps: TurnConsumerDeps,
  group: readonly QueueRecord[],
  decoded: readonly QueuedInbound[],
  turn: TurnStart,
): Promise<GroupSettlement> => {
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
    return done;
  }
  if (fate.kind === 'retry') return handBack(fate.visibilitySeconds);
  const error = outcome.kind === 'failed' ? outcome.error : undefined;
  return deadLetterTurn(deps, group, decoded, {
    reason: fate.reason,
    receiveCount: turn.receiveCount,
    error,
  });
};

/** One user's turn: decode, defer while the burst may still grow (decideTurn), else answer it. */
const settleTurn = async (
  deps: TurnConsumerDeps,
  group: readonly QueueRecord[],
): Promise<GroupSettlement> => {
  const decoded = await decodeGroup(deps, group);
  if (decoded === undefined) return handBack(DEAD_LETTER_RETRY_SECONDS);
  if (decoded.length === 0) return { kind: 'done' };
  const head = group[0];
  const receiveCount = head ? receiveCountOf(head) : 1;
  const startedAt = deps.now();
  const decision = decideTurn({ inbounds: decoded, receiveCount }, startedAt, deps.policy);
  if (decision.kind === 'defer') {
    deps.telemetry.metric('TurnsDeferred', 1);
    return handBack(decision.visibilitySeconds);
  }
  const turn = { receiveCount, finalReceive: decision.finalReceive, startedAt };
  if (deps.hold) return answerUnlessHeld(deps, deps.hold, group, decoded, turn);
  // A person's words are never the user's to answer, even where holds are not read.
  const users = decoded.filter((i) => i.author !== 'person');
  return users.length === 0 ? done : answerTurn(deps, group, users, turn);
};

type TurnStart = { receiveCount: number; finalReceive: boolean; startedAt: number };

/** The user's record; an unreadable one fails open ({}): the sender reads it again before each step. */
const recordOf = async (deps: TurnConsumerDeps, hold: TurnHold, key: string): Promise<UserRecord> =>
  hold.state.read(key).catch((error: unknown) => {
    deps.telemetry.metric('LedgerReadFailed', 1);
    deps.telemetry.log.warn('conversation state unreadable; answering', { error });
    return {};
  });

/** The run's deps under a hold: its responder stops when the hold comes, discloses when due, and says if it spoke. */
const heldAwareRunner = (deps: TurnConsumerDeps, hold: TurnHold, record: UserRecord, held: AbortSignal) => {
  const spoke = { at: undefined as number | undefined };
  const abortable = abortableBy(deps.responder, held);
  const due = hold.disclosure && disclosureDue(record, deps.now(), hold.disclosure.afterMs);
  const enqueue = async (seq: SequenceToEnqueue): Promise<unknown> => {
    if (held.aborted) return undefined;
    if (seq.steps.some((s) => 'message' in s.action)) spoke.at = deps.now();
    return deps.enqueue(seq);
  };
  const responder = due && hold.disclosure ? disclosing(abortable, hold.disclosure.text) : abortable;
  return { runner: { ...deps, responder, enqueue }, spoke };
};

/**
 * A turn under the user's hold (lib/responder/hold.ts): the held messages are context only; the rest is
 * answered while the record is watched, and a hold that comes meanwhile ends the turn with nothing more sent.
 */
const answerUnlessHeld = async (
  deps: TurnConsumerDeps,
  hold: TurnHold,
  group: readonly QueueRecord[],
  decoded: readonly QueuedInbound[],
  turn: TurnStart,
): Promise<GroupSettlement> => {
  const head = decoded[0]?.event;
  if (head === undefined) return done;
  const key = groupIdOf(head.pageId, head.psid);
  const record = await recordOf(deps, hold, key);
  const { answer, observed } = splitTurn(decoded, record);
  await observeHeld(deps.responder, observed, deps.telemetry);
  if (answer.length === 0) return withheld(deps);
  const since = Math.max(...answer.map((i) => i.receivedAt));
  const watch = watchHold(hold, key, since, deps.sleep);
  const { runner, spoke } = heldAwareRunner(deps, hold, record, watch.signal);
  const settled = await answerTurn(runner, group, answer, turn).finally(watch.stop);
  // A hold that came after the watch's last read still covers the turn: the sender drops its replies, so
  // the bot did not speak (else the disclosure due after the person would be skipped).
  if (watch.signal.aborted || isWithheld(await recordOf(deps, hold, key), since)) {
    await observeHeld(deps.responder, answer, deps.telemetry);
    return withheld(deps);
  }
  if (spoke.at !== undefined) await hold.state.botSpoke(key, spoke.at).catch(() => undefined);
  return settled;
};

const withheld = (deps: TurnConsumerDeps): GroupSettlement => {
  deps.telemetry.metric('TurnsWithheld', 1);
  return done;
};

export const processTurns = (
  records: readonly QueueRecord[],
  deps: TurnConsumerDeps,
): Promise<BatchResponse> =>
  processFifoBatch(records, {
    queue: deps,
    groupOf: groupOfRecord,
    settleGroup: (_group, members) => settleTurn(deps, members),
    retrySeconds: DEAD_LETTER_RETRY_SECONDS,
  });

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
