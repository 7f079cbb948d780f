/**
 * One turn: the inbound messages a user sent before the bot answered, answered once. Pure decisions (which
 * records form a turn, whether to wait for more, where the typing bubble stands) apart from the loop that
 * runs the responder (lib/responder/turn-runner.ts) and the SQS batch loop (lib/responder/turn-consumer.ts).
 */

import type { Pace } from '../pacing/plan.ts';
import { ConfigError, EllipsisError } from '../platform/errors.ts';
import type { QueuedInbound } from '../queue/inbound-codec.ts';
import type { TurnPolicy } from './config.ts';

/** A turn's messages, oldest first, with the receive count of its head (SQS ApproximateReceiveCount). */
export type Turn = { inbounds: readonly QueuedInbound[]; receiveCount: number };

export type TurnDecision =
  /** Wait for the quiet window: hand the whole turn back to SQS for this many seconds. */
  { kind: 'defer'; visibilitySeconds: number } | { kind: 'run'; finalReceive: boolean };

/**
 * Defers while the newest message is younger than RESPONDER_QUIET_MS (the user may still be typing), at
 * most RESPONDER_MAX_DEFERRALS times: every deferral is a receive and counts toward the queue's
 * maxReceiveCount, so the rest stays for retries. Whole seconds (what ChangeMessageVisibility takes),
 * rounded up: the window is never cut short.
 */
export const decideTurn = (turn: Turn, now: number, policy: TurnPolicy): TurnDecision => {
  const newest = Math.max(...turn.inbounds.map((i) => i.receivedAt));
  const quietAt = newest + policy.RESPONDER_QUIET_MS;
  const finalReceive = turn.receiveCount >= policy.RESPONDER_QUEUE_MAX_RECEIVE_COUNT;
  if (now < quietAt && turn.receiveCount <= policy.RESPONDER_MAX_DEFERRALS && !finalReceive) {
    return { kind: 'defer', visibilitySeconds: Math.max(1, Math.ceil((quietAt - now) / 1000)) };
  }
  return { kind: 'run', finalReceive };
};

/**
 * When the typing bubble of the turn's last prelude starts, as the sender will run the preludes: one after
 * the other in the user's FIFO group, each mark_seen no earlier than the previous typing_on. Undefined when
 * no message of the turn got a prelude.
 */
export const preludeTypingAt = (inbounds: readonly QueuedInbound[]): number | undefined => {
  let typingAt: number | undefined;
  for (const { receivedAt, typingAt: planned } of inbounds) {
    if (planned === undefined) continue;
    const seenAt = Math.max(receivedAt, typingAt ?? 0);
    typingAt = seenAt + (planned - receivedAt);
  }
  return typingAt;
};

/**
 * Where the turn starts: the bubble of the last prelude (typing shown from then on counts toward the first
 * reply), or nothing showing (no prelude: the keep-alive starts typing at once).
 */
export const initialPace = (inbounds: readonly QueuedInbound[]): Pace => {
  const typingAt = preludeTypingAt(inbounds);
  if (typingAt === undefined) return { lastDueAt: 0, replies: 0 };
  return { lastDueAt: typingAt, typingSince: typingAt, refreshedAt: typingAt, replies: 0 };
};

/** Backoff before retrying a failed turn, in whole seconds: full jitter on base·2^(attempt−1), ≥ 1 s. */
export const turnRetrySeconds = (
  receiveCount: number,
  policy: Pick<TurnPolicy, 'RESPONDER_RETRY_BASE_SECONDS'>,
  random: () => number,
): number => {
  const cap = Math.min(300, policy.RESPONDER_RETRY_BASE_SECONDS * 2 ** Math.max(0, receiveCount - 1));
  return Math.max(1, Math.ceil(Math.min(1, Math.max(0, random())) * cap));
};

/**
 * Whether another attempt at a failed turn can help. No for a ConfigError and for an EllipsisError that says
 * `retryable: false` (an LLM 401/403/404/400: the same request with the same key and model fails again);
 * yes for anything else, an unknown error included: a CRM timeout or a reset deserves its backoff.
 */
export const isRetryableFailure = (error: unknown): boolean => {
  if (error instanceof ConfigError) return false;
  if (error instanceof EllipsisError && 'retryable' in error) return error.retryable !== false;
  return true;
};

export type FailureDecision =
  | { kind: 'retry'; visibilitySeconds: number }
  | { kind: 'dead-letter'; reason: 'not_retryable' | 'kept_failing' };

/**
 * What to do with a turn whose responder failed before any reply went out: dead-letter it at once when
 * retrying cannot help (nine more tries would only delay the alarm and burn the LLM quota), on the queue's
 * final receive when it kept failing, else hand it back with backoff.
 */
export const decideFailure = (
  error: unknown,
  receiveCount: number,
  finalReceive: boolean,
  policy: Pick<TurnPolicy, 'RESPONDER_RETRY_BASE_SECONDS'>,
  random: () => number,
): FailureDecision => {
  if (!isRetryableFailure(error)) return { kind: 'dead-letter', reason: 'not_retryable' };
  if (finalReceive) return { kind: 'dead-letter', reason: 'kept_failing' };
  return { kind: 'retry', visibilitySeconds: turnRetrySeconds(receiveCount, policy, random) };
};

/** The deadline of the responder's thinking: the policy's maximum, or the function's time minus a reserve. */
export const thinkingDeadline = (
  now: number,
  functionDeadline: number | undefined,
  policy: Pick<TurnPolicy, 'RESPONDER_MAX_THINKING_MS'>,
  reserveMs = 5_000,
): number =>
  Math.min(
    now + policy.RESPONDER_MAX_THINKING_MS,
    functionDeadline === undefined ? Number.POSITIVE_INFINITY : functionDeadline - reserveMs,
  );
