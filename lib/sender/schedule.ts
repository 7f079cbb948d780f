/**
 * Pure timing decisions for the sender: when a queued step is due, and whether to send it now, wait a
 * little in-process, hand the wait back to SQS, or skip it. No clock, no I/O: `now` is a parameter.
 *
 * A step is due on its sequence's timeline: the instant its planner anchored it on (`plannedAt`; for the
 * webhook's prelude, the moment the event was received) plus the planned delays up to this step. That is
 * the instant the responder paces the reply from (the inbound body's receivedAt / typingAt), so prelude and
 * reply share one anchor: anchored on SQS's SentTimestamp instead, every millisecond the webhook spent
 * between receiving an event and enqueueing its prelude pushed the prelude later while the reply stayed
 * put, cutting that much from the reply's typing (50 users at once: reply-start gap error p95 552 ms,
 * correlated −0.62 with that delay; docs/scale.md). Measuring each
 * pause from the step's own first receive instead (as this module once did) adds every millisecond between
 * the predecessor's Graph call and that receive — Graph latency, the delete, the next poll — to every pause,
 * and the lateness piles up along the conversation. On the sequence's timeline a late step makes only the
 * next pause shorter: later steps absorb lateness instead of adding to it.
 *
 * Absorbing has a floor: a pause is never shortened below SENDER_MIN_PAUSE_RATIO of its planned length,
 * measured from a moment the predecessor is known to have completed by — its completion when it ran in this
 * invocation, else this step's ApproximateFirstReceiveTimestamp (a FIFO queue releases a group's next
 * message only after the previous one is deleted: AWS SQS Developer Guide, FIFO delivery logic). Both
 * anchors are stable across redeliveries: a step deferred, retried or throttled keeps its due time.
 *
 * The first-receive bound holds only when a step is first received after its predecessor completed. With
 * a batch size above 1 it can break: a step returned unprocessed behind a deferred predecessor has already
 * been received once, and if the next poll cuts the batch between the two, the follower later arrives alone
 * with a first receive from before its predecessor was sent — its floor is lost. Batch size 1
 * (serverless.yml) makes that impossible; the consumer still handles batches of up to 10 correctly within
 * one invocation.
 */

import type { GraphFailureKind } from '../meta/graph/errors.ts';
import type { UsageReading } from '../meta/graph/usage.ts';
import type * as z from '../platform/zod.ts';
import type { QueuedStep } from '../queue/codec.ts';
import { MAX_VISIBILITY_SECONDS } from '../queue/consumer/queue-writes.ts';
import type { ActionKind } from '../queue/step.ts';
import type { senderTuningSchema } from './config.ts';

export type SenderTuning = z.infer<typeof senderTuningSchema>;

/**
 * Receives a planned step may spend on deferrals: one to its due second, maybe one more when SQS redelivers
 * a little early. Typing refreshes keep every single wait ≤ 18 s, so no step needs more.
 */
export const DEFERRAL_RECEIVES = 2;

/** The SQS system attributes the schedule needs, as epoch ms and a count. */
export type SqsTiming = {
  /** ApproximateReceiveCount, ≥ 1. */
  receiveCount: number;
  /** ApproximateFirstReceiveTimestamp; undefined when the queue did not supply it. */
  firstReceiveAt?: number;
  /** SentTimestamp. */
  sentAt?: number;
};

export type DueTime = {
  /** When the step should be sent (epoch ms). */
  dueAt: number;
  /** What set it: the sequence's timeline, or the pause floor after the predecessor / the first receive. */
  anchor: 'sequence' | 'predecessor' | 'first-receive';
  /** True when the step was too late to add its pause: due = max(anchor, planned time). */
  catchUp: boolean;
};

type DueStep = Pick<QueuedStep, 'delayMs' | 'dueAt' | 'plannedAt'>;

/**
 * The step's time on its sequence's timeline: the planner's anchor + the planned delays of steps 0…index,
 * i.e. the body's dueAt. Not SentTimestamp (header comment): one anchor for prelude and reply.
 */
export const sequenceDueAt = (step: DueStep): number => step.dueAt;

/**
 * Due time of a step: its time on the sequence's timeline, but never less than SENDER_MIN_PAUSE_RATIO of
 * its pause after the predecessor (its completion in this invocation, else this step's first receive).
 * Without either bound (a queue without first-receive attributes) the timeline alone decides.
 * Catch-up: when even the floor is more than SENDER_CATCH_UP_AFTER_MS past the timeline, the pause is
 * dropped and due = max(bound, timeline), so a conversation far behind does not drift further.
 */
export const dueTime = (
  step: DueStep,
  timing: SqsTiming,
  predecessorDoneAt: number | undefined,
  tuning: Pick<SenderTuning, 'SENDER_CATCH_UP_AFTER_MS' | 'SENDER_MIN_PAUSE_RATIO'>,
): DueTime => {
  const planned = sequenceDueAt(step);
  const boundAt = predecessorDoneAt ?? timing.firstReceiveAt;
  // Stryker disable next-line ConditionalExpression: equivalent as `false`: an undefined bound makes the floor NaN, every comparison below false, and the timeline wins anyway
  if (boundAt === undefined) return { dueAt: planned, anchor: 'sequence', catchUp: false };
  const anchor = predecessorDoneAt !== undefined ? 'predecessor' : 'first-receive';
  const floorAt = boundAt + Math.ceil(step.delayMs * tuning.SENDER_MIN_PAUSE_RATIO);
  if (floorAt - planned > tuning.SENDER_CATCH_UP_AFTER_MS)
    return { dueAt: Math.max(boundAt, planned), anchor, catchUp: true };
  if (floorAt > planned) return { dueAt: floorAt, anchor, catchUp: false };
  return { dueAt: planned, anchor: 'sequence', catchUp: false };
};

type StepDecision =
  | { kind: 'send'; due: DueTime }
  | { kind: 'wait'; waitMs: number; due: DueTime }
  /** Make the message visible again in `visibilitySeconds`; a redelivery then waits what is left. */
  | { kind: 'defer'; visibilitySeconds: number; due: DueTime }
  | { kind: 'skip'; latenessMs: number; due: DueTime };

type DecideInput = {
  step: Pick<QueuedStep, 'delayMs' | 'dueAt' | 'plannedAt' | 'skippableAfterMs'>;
  timing: SqsTiming;
  now: number;
  predecessorDoneAt?: number;
};

type DecideTuning = Pick<
  SenderTuning,
  | 'SENDER_CATCH_UP_AFTER_MS'
  | 'SENDER_MIN_PAUSE_RATIO'
  | 'SENDER_INLINE_WAIT_MS'
  | 'SENDER_DEFER_MAX_SLEEP_MS'
>;

/**
 * A wait longer than SENDER_INLINE_WAIT_MS goes to SQS, whose visibility counts whole seconds. Exact (the
 * default): hand over the whole seconds only, so the redelivery lands up to 1 s *before* the due time and
 * sleeps the rest — which also absorbs SQS redelivering a little late. A sub-second part above
 * SENDER_DEFER_MAX_SLEEP_MS is rounded up instead (the "cheapest" timing: nothing slept, up to 1 s late).
 */
const waitOrDefer = (remaining: number, due: DueTime, tuning: DecideTuning): StepDecision => {
  if (remaining <= tuning.SENDER_INLINE_WAIT_MS) return { kind: 'wait', waitMs: remaining, due };
  const wholeSeconds = Math.floor(remaining / 1000);
  const roundUp = remaining - wholeSeconds * 1000 > tuning.SENDER_DEFER_MAX_SLEEP_MS;
  // Under one whole second, not rounded up: nothing to hand to SQS (visibility 0 = redeliver at once).
  if (wholeSeconds === 0 && !roundUp) return { kind: 'wait', waitMs: remaining, due };
  const visibilitySeconds = Math.min(wholeSeconds + (roundUp ? 1 : 0), MAX_VISIBILITY_SECONDS);
  return { kind: 'defer', visibilitySeconds, due };
};

/**
 * send | wait (remaining ≤ SENDER_INLINE_WAIT_MS) | defer (longer: see waitOrDefer) | skip (a step with
 * skippableAfterMs, in catch-up mode, running later than that past its planned time).
 */
export const decideStep = (
  { step, timing, now, predecessorDoneAt }: DecideInput,
  tuning: DecideTuning,
): StepDecision => {
  const due = dueTime(step, timing, predecessorDoneAt, tuning);
  const lateness = Math.max(now, due.dueAt) - step.dueAt;
  // Skipping a typing_on only helps when its message will not wait either, i.e. in catch-up mode (the message
  // is then due at once). A merely late typing_on is still shown: seen → typing → reply, shifted, reads as a
  // person; seen → silence → reply does not.
  // Mutating the first test to `true` survives, equivalently: `lateness > undefined` is false (docs/mutation.md).
  if (step.skippableAfterMs !== undefined && due.catchUp && lateness > step.skippableAfterMs)
    return { kind: 'skip', latenessMs: lateness, due };
  const remaining = due.dueAt - now;
  if (remaining <= 0) return { kind: 'send', due };
  return waitOrDefer(remaining, due, tuning);
};

/**
 * Transient-failure attempt number: the receive count minus the receives deferrals may have used, so the
 * first real retry starts at the base delay.
 */
export const retryAttempt = (receiveCount: number): number => Math.max(1, receiveCount - DEFERRAL_RECEIVES);

/**
 * Backoff before the next attempt, in whole seconds (what ChangeMessageVisibility takes): exponential with
 * full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): random(0, min(max, base·2^(n−1))),
 * at least 1 s, and never shorter than Graph asked for (Retry-After / estimated_time_to_regain_access).
 */
export const retryDelaySeconds = (
  input: { receiveCount: number; retryAfterMs?: number; random: () => number },
  tuning: Pick<SenderTuning, 'RETRY_BASE_SECONDS' | 'RETRY_MAX_SECONDS'>,
): number => {
  const attempt = retryAttempt(input.receiveCount);
  const cap = Math.min(tuning.RETRY_MAX_SECONDS, tuning.RETRY_BASE_SECONDS * 2 ** (attempt - 1));
  const jittered = Math.ceil(Math.min(1, Math.max(0, input.random())) * cap);
  const asked = Math.ceil((input.retryAfterMs ?? 0) / 1000);
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, jittered, asked));
};

/**
 * Transient retries every step is guaranteed: QUEUE_MAX_RECEIVE_COUNT receives, minus DEFERRAL_RECEIVES
 * for deferrals, minus the first attempt. With the default 20: 17 retries.
 */
export const retryBudget = (maxReceiveCount: number): number =>
  Math.max(0, maxReceiveCount - DEFERRAL_RECEIVES - 1);

/**
 * The last receive before SQS's redrive would move the message to the DLQ on its own. On it the consumer
 * neither defers nor returns the message: it sends what is due, or gives up explicitly (abort the sequence,
 * copy to the DLQ) — letting SQS move it silently would let the sequence's later steps go out without it.
 */
export const isFinalReceive = (receiveCount: number, maxReceiveCount: number): boolean =>
  receiveCount >= maxReceiveCount;

/** A usage reading older than this no longer holds the sender back (Graph's windows roll continuously). */
export const USAGE_READING_FRESH_MS = 60_000;

/**
 * Throttle check before a send: a fresh usage reading at or above SENDER_USAGE_THRESHOLD_PERCENT, or a
 * regain time still running (Graph API "Rate Limits"), holds the step back for at least the regain time.
 * Never on the final receive: there the step is sent or given up explicitly.
 */
export const usageHold = (
  usage: UsageReading | undefined,
  now: number,
  finalReceive: boolean,
  tuning: Pick<SenderTuning, 'SENDER_USAGE_THRESHOLD_PERCENT'>,
): { retryAfterMs: number; usagePercent: number } | undefined => {
  if (!usage || finalReceive || now - usage.readAt >= USAGE_READING_FRESH_MS) return undefined;
  const regainAt = usage.readAt + usage.regainAccessMs;
  if (usage.maxPercent < tuning.SENDER_USAGE_THRESHOLD_PERCENT && regainAt <= now) return undefined;
  return { retryAfterMs: Math.max(0, regainAt - now), usagePercent: usage.maxPercent };
};

/**
 * Repeating these shows the user nothing new (a seen or typing indicator again; a reaction replaces the
 * previous one: Meta, Sender Actions), so they are retried whatever happened to the first attempt.
 */
const REPEATABLE: ReadonlySet<ActionKind> = new Set([
  'mark_seen',
  'typing_on',
  'typing_off',
  'react',
  'unreact',
]);

export const isRepeatable = (kind: ActionKind): boolean => REPEATABLE.has(kind);

/**
 * What a Graph result means for the step: sent; retry (transient, receives left); give up (transient on
 * the final receive: DLQ copy, then abort); abort (permanent); unknown (a message that got no answer and may
 * have reached Meta: not retried, since the Send API has no idempotency key and a retry could show the
 * user the same reply twice — counted instead).
 */
export type SendVerdict = 'sent' | 'retry' | 'give-up' | 'abort' | 'unknown';

export const sendVerdict = (
  result: { ok: true } | { ok: false; kind: GraphFailureKind; outcomeUnknown?: boolean },
  finalReceive: boolean,
  kind: ActionKind,
): SendVerdict => {
  if (result.ok) return 'sent';
  if (result.kind === 'permanent') return 'abort';
  if (result.outcomeUnknown && !isRepeatable(kind)) return 'unknown';
  return finalReceive ? 'give-up' : 'retry';
};
