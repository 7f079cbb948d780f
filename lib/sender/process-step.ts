/**
 * One record of the sender's batch, start to finish: decode, drop if its sequence was aborted, apply the
 * schedule's decision (send, wait, defer, skip), hold back when Graph usage is near its limit, send, and
 * turn Graph's answer into an outcome. Every exit is a RecordOutcome; the decisions are in schedule.ts.
 */

import type { GraphSendResult } from '../meta/graph/client.ts';
import type { GraphFailure } from '../meta/graph/errors.ts';
import { codeLabel, failureAttributes } from '../meta/graph/errors.ts';
import { sendTargetOf } from '../meta/outbound.ts';
import { userLabel } from '../platform/telemetry.ts';
import { decodeStep, type QueuedStep } from '../queue/codec.ts';
import { copyToDlq } from '../queue/consumer/queue-writes.ts';
import type { QueueRecord } from '../queue/consumer/record.ts';
import { type ActionKind, actionKind } from '../queue/step.ts';
import { abortSequence, isSequenceAborted } from './abort.ts';
import { heldByAccount, settleAccountHold } from './account-hold.ts';
import { type BudgetedStep, budgetGate, settleRateRefusal } from './budget-gate.ts';
import type { ConsumerDeps } from './deps.ts';
import { type RecordOutcome, sqsTimingOf } from './record.ts';
import {
  type DueTime,
  decideStep,
  isFinalReceive,
  retryDelaySeconds,
  type SqsTiming,
  sendVerdict,
  usageHold,
} from './schedule.ts';
import { recordSent, wasSent } from './sent-steps.ts';
import { checkHold, stopRecipient } from './user-hold.ts';

/** Everything known about the record being processed. */
type StepContext = {
  deps: ConsumerDeps;
  record: QueueRecord;
  group: string;
  step: QueuedStep;
  kind: ActionKind;
  user: string;
  timing: SqsTiming;
  finalReceive: boolean;
};

const done = (deps: ConsumerDeps, at = deps.now()): RecordOutcome => ({ done: true, completedAt: at });

/** Backoff before the next attempt, in whole seconds; jittered with deps.random. */
const backoff = (deps: ConsumerDeps, timing: SqsTiming, retryAfterMs?: number): number =>
  retryDelaySeconds(
    { receiveCount: timing.receiveCount, retryAfterMs, random: deps.random ?? Math.random },
    deps.tuning,
  );

const handlePoison = async (
  deps: ConsumerDeps,
  record: QueueRecord,
  group: string,
  reason: string,
): Promise<RecordOutcome> => {
  deps.telemetry.metric('PoisonMessages', 1);
  deps.telemetry.log.error('undecodable queue record', {
    messageId: record.messageId,
    reason: reason.slice(0, 500),
  });
  if (await copyToDlq(deps, record, group, reason)) return done(deps);
  // No DLQ (or it failed): return it; SQS's redrive moves it after maxReceiveCount receives.
  return { done: false, visibilitySeconds: backoff(deps, sqsTimingOf(record.attributes)) };
};

/** Sleeps until the due time. Node measures timers from the event loop's cached time, so on a busy loop a
 * timer can fire early against the wall clock: top up (bounded, in case an injected sleep does not move
 * the clock). */
const waitUntil = async (deps: ConsumerDeps, waitMs: number, dueAt: number): Promise<void> => {
  await deps.sleep(waitMs);
  for (let topUps = 0; topUps < 3 && deps.now() < dueAt; topUps += 1) await deps.sleep(dueAt - deps.now());
};

/**
 * Applies the schedule: an outcome when the step is not sent now (skipped or deferred), else its due time
 * once any in-process wait is over.
 */
const applySchedule = async (
  ctx: StepContext,
  predecessorDoneAt: number | undefined,
): Promise<RecordOutcome | DueTime> => {
  const { deps, step, kind, user } = ctx;
  const { metric, log } = deps.telemetry;
  const decision = decideStep({ step, timing: ctx.timing, now: deps.now(), predecessorDoneAt }, deps.tuning);
  if (decision.kind === 'skip') {
    metric('StepsSkipped', 1, 'Count', { action: kind });
    log.info('stale step skipped', { user, sequenceId: step.sequenceId, index: step.index, action: kind });
    // Counted as done at its own due time, so skipping removes lag instead of adding the next pause to it.
    return done(deps, Math.min(decision.due.dueAt, deps.now()));
  }
  if (decision.kind === 'defer' && !ctx.finalReceive) {
    metric('StepsDeferred', 1, 'Count', { action: kind });
    return { done: false, visibilitySeconds: decision.visibilitySeconds };
  }
  // On the final receive a deferral would let SQS's redrive take the step: send it early instead.
  if (decision.kind === 'defer') metric('StepsForcedEarly', 1, 'Count', { action: kind });
  if (decision.kind === 'wait') await waitUntil(deps, decision.waitMs, decision.due.dueAt);
  return decision.due;
};

/** Graph usage near its limit: return the step for the regain time instead of sending. */
const throttled = (ctx: StepContext): RecordOutcome | undefined => {
  const { deps } = ctx;
  const hold = usageHold(deps.graph.usage?.(), deps.now(), ctx.finalReceive, deps.tuning);
  if (!hold) return undefined;
  deps.telemetry.metric('StepsThrottled', 1);
  deps.telemetry.log.warn('Graph usage near its limit; step deferred', {
    user: ctx.user,
    usagePercent: hold.usagePercent,
  });
  return { done: false, visibilitySeconds: backoff(deps, ctx.timing, hold.retryAfterMs) };
};

const sendStep = async (ctx: StepContext, due: DueTime): Promise<GraphSendResult> => {
  const { deps, step, kind } = ctx;
  const { metric } = deps.telemetry;
  const startedAt = deps.now();
  metric('StepLateness', startedAt - due.dueAt, 'Milliseconds', { action: kind });
  metric('StepLatenessVsPlan', startedAt - step.dueAt, 'Milliseconds', { action: kind });
  const result = await deps.graph.sendAction({ ...sendTargetOf(step), action: step.action });
  metric('GraphLatency', result.latencyMs, 'Milliseconds');
  return result;
};

const retryLater = (ctx: StepContext, failure: GraphFailure): RecordOutcome => {
  const { deps, step } = ctx;
  deps.telemetry.metric('StepsRetried', 1, 'Count', { code: codeLabel(failure) });
  const visibilitySeconds = backoff(deps, ctx.timing, failure.retryAfterMs);
  deps.telemetry.log.warn('transient Graph failure; step will be retried', {
    user: ctx.user,
    sequenceId: step.sequenceId,
    index: step.index,
    action: ctx.kind,
    receiveCount: ctx.timing.receiveCount,
    retryInSeconds: visibilitySeconds,
    ...failureAttributes(failure),
  });
  return { done: false, visibilitySeconds };
};

/** A message that may have reached Meta: counted and logged, not retried (README, Delivery guarantees). */
const outcomeUnknown = (ctx: StepContext, failure: GraphFailure): RecordOutcome => {
  ctx.deps.telemetry.metric('StepsOutcomeUnknown', 1, 'Count', { action: ctx.kind });
  ctx.deps.telemetry.log.warn('Graph gave no answer and the message may have been delivered: not retried', {
    user: ctx.user,
    sequenceId: ctx.step.sequenceId,
    index: ctx.step.index,
    action: ctx.kind,
    ...failureAttributes(failure),
  });
  return done(ctx.deps);
};

/** Graph's answer → outcome: sent, retried later, or (given up / permanent) the sequence aborted. */
const settle = async (ctx: StepContext, due: DueTime, result: GraphSendResult): Promise<RecordOutcome> => {
  const { deps, kind } = ctx;
  const { metric } = deps.telemetry;
  const held = settleAccountHold(deps, ctx.step, result, ctx.finalReceive);
  if (held) return held;
  if (result.ok) {
    await recordSent(deps, ctx.group, ctx.step);
    // A step its channel has no call for (WhatsApp mark_seen / typing_off) is done without one: `call: none`.
    metric('StepsSent', 1, 'Count', { action: kind, ...(result.skipped !== undefined && { call: 'none' }) });
    if (result.unexpectedBody) metric('GraphUnexpectedSuccessBody', 1);
    if (due.catchUp) metric('StepsCaughtUp', 1, 'Count', { action: kind });
    return done(deps);
  }
  const refused = await settleRateRefusal(budgeted(ctx), result);
  if (refused) return refused;
  const verdict = sendVerdict(result, ctx.finalReceive, kind);
  if (verdict === 'retry') return retryLater(ctx, result);
  if (verdict === 'unknown') return outcomeUnknown(ctx, result);
  await abortSequence(deps, ctx.step, ctx.group, result);
  await stopRecipient(deps, ctx.step, ctx.group, result);
  if (verdict !== 'give-up') return done(deps);
  metric('StepsGivenUp', 1, 'Count', { code: codeLabel(result) });
  if (await copyToDlq(deps, ctx.record, ctx.group, `retry budget exhausted: ${result.reason}`))
    return done(deps);
  // Not copied: never delete it. On its final receive, handing it back lets SQS's redrive move it to the DLQ.
  return { done: false, visibilitySeconds: 0 };
};

const budgeted = (ctx: StepContext): BudgetedStep => ({
  ...ctx,
  receiveCount: ctx.timing.receiveCount,
});

/** Before any wait (the read then costs the user nothing): did an earlier receive already send it? */
const alreadySent = async (ctx: StepContext): Promise<boolean> => {
  const { deps, step } = ctx;
  if (!(await wasSent(deps, ctx.group, step, ctx.timing.receiveCount))) return false;
  deps.telemetry.metric('StepsAlreadySent', 1, 'Count', { action: ctx.kind });
  deps.telemetry.log.info('step already sent by an earlier receive; not sent again', {
    user: ctx.user,
    sequenceId: step.sequenceId,
    index: step.index,
  });
  return true;
};

/** A decoded step: dropped, scheduled, held back, or sent and settled. */
const processStep = async (
  given: StepContext,
  predecessorDoneAt: number | undefined,
): Promise<RecordOutcome> => {
  const { deps } = given;
  const hold = await checkHold(deps, given.step, given.group);
  if (hold.withheld) return done(deps);
  // The step as it goes out: a reply's quote kept only if the user wrote since (lib/sender/user-hold.ts).
  const ctx = { ...given, step: hold.step };
  const { step } = ctx;
  if (await isSequenceAborted(deps, step, ctx.group)) {
    deps.telemetry.metric('StepsDropped', 1, 'Count', { action: ctx.kind });
    deps.telemetry.log.info('step dropped: sequence aborted', {
      user: ctx.user,
      sequenceId: step.sequenceId,
      index: step.index,
    });
    return done(deps);
  }
  if (await alreadySent(ctx)) return done(deps);
  const scheduled = await applySchedule(ctx, predecessorDoneAt);
  if ('done' in scheduled) return scheduled;
  const held =
    throttled(ctx) ?? heldByAccount(deps, step, ctx.finalReceive) ?? (await budgetGate(budgeted(ctx)));
  if (held) return held;
  return settle(ctx, scheduled, await sendStep(ctx, scheduled));
};

/** One record → its outcome. `predecessorDoneAt`: when the previous step of its group completed here. */
export const processRecord = async (
  deps: ConsumerDeps,
  record: QueueRecord,
  group: string,
  predecessorDoneAt: number | undefined,
): Promise<RecordOutcome> => {
  const decoded = decodeStep(record.body);
  if (!decoded.ok) return handlePoison(deps, record, group, decoded.reason);
  const timing = sqsTimingOf(record.attributes);
  const { step } = decoded;
  const finalReceive = isFinalReceive(timing.receiveCount, deps.tuning.QUEUE_MAX_RECEIVE_COUNT);
  const ctx = { deps, record, group, step, timing, finalReceive };
  return processStep(
    { ...ctx, kind: actionKind(step.action), user: userLabel(step.psid) },
    predecessorDoneAt,
  );
};
