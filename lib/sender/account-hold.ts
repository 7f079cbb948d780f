/**
 * A whole account restricted from sending: Graph error 10 / subcode 1893063, "Page temporarily restricted
 * from sending messages" (Messenger changelog, 2026-06-25). It says nothing about the step or the user, so
 * the per-step rules are wrong both ways: as a permanent failure every conversation's reply is dropped (and a
 * typing_off sent into the same refusal); as a transient one every pending step retries on its own backoff,
 * one Graph call each, for the whole retry budget.
 *
 * Instead the account is held: the failing step and every later step for that account go back to the queue
 * for the hold's length, unsent, with no Graph call; when the hold ends, the next step is the probe. A probe
 * that fails again doubles the hold (HOLD_FIRST_MS → HOLD_MAX_MS); one that succeeds lifts it. Holds live in
 * the container: another container finds the restriction by one refused call of its own, so the calls a
 * restricted account costs are about one per warm container per hold (docs/channels.md has the numbers).
 * Each restriction is logged as an error and counted (`AccountRestricted`) for an alarm.
 */
import type { GraphFailure } from '../meta/graph/errors.ts';
import { failureAttributes } from '../meta/graph/errors.ts';
import { userLabel } from '../platform/telemetry.ts';
import type { QueuedStep } from '../queue/codec.ts';
import type { ConsumerDeps } from './deps.ts';
import type { RecordOutcome } from './record.ts';

/** Meta does not say how long "temporarily" is; 10 min is short next to the hours such holds last. */
export const HOLD_FIRST_MS = 10 * 60_000;
/** Doubling stops here: a lifted restriction is noticed within 2 h at most. */
export const HOLD_MAX_MS = 2 * 60 * 60_000;

export const RESTRICTED_CODE = 10;
export const RESTRICTED_SUBCODE = 1_893_063;

export const isAccountRestricted = (failure: Pick<GraphFailure, 'code' | 'subcode'>): boolean =>
  failure.code === RESTRICTED_CODE && failure.subcode === RESTRICTED_SUBCODE;

type Hold = { until: number; lengthMs: number };

export type AccountHolds = {
  /** Ms left on this account's hold, or 0 when its steps may be sent. */
  remainingMs: (accountId: string, now: number) => number;
  /** Records a refusal; returns the hold's length (doubled if the account was held before). */
  restrict: (accountId: string, now: number) => number;
  /** A step of this account went through: its hold, if any, is over. */
  lift: (accountId: string) => void;
};

export const accountHolds = (): AccountHolds => {
  const holds = new Map<string, Hold>();
  return {
    remainingMs: (accountId, now) => Math.max(0, (holds.get(accountId)?.until ?? 0) - now),
    restrict: (accountId, now) => {
      const previous = holds.get(accountId)?.lengthMs;
      const lengthMs = previous === undefined ? HOLD_FIRST_MS : Math.min(HOLD_MAX_MS, previous * 2);
      holds.set(accountId, { until: now + lengthMs, lengthMs });
      return lengthMs;
    },
    lift: (accountId) => {
      holds.delete(accountId);
    },
  };
};

/** The holds of this container (the sender's default; tests pass their own through ConsumerDeps). */
export const containerHolds: AccountHolds = accountHolds();

/** Whole seconds of SQS visibility for a hold's remaining ms (at least 1). */
export const holdSeconds = (remainingMs: number): number => Math.max(1, Math.ceil(remainingMs / 1000));

type HoldDeps = Pick<ConsumerDeps, 'now' | 'telemetry' | 'accountHolds'>;
type HeldStep = Pick<QueuedStep, 'pageId' | 'psid' | 'sequenceId' | 'index'>;

const holdsOf = (deps: HoldDeps): AccountHolds => deps.accountHolds ?? containerHolds;

/**
 * Before a send: a step of a held account goes back to the queue until the hold ends, unsent. On the final
 * receive it is sent anyway (the probe), so SQS's redrive never takes a step silently.
 */
export const heldByAccount = (
  deps: HoldDeps,
  step: HeldStep,
  finalReceive: boolean,
): RecordOutcome | undefined => {
  const remaining = holdsOf(deps).remainingMs(step.pageId, deps.now());
  if (remaining === 0 || finalReceive) return undefined;
  deps.telemetry.metric('StepsHeldAccountRestricted', 1);
  return { done: false, visibilitySeconds: holdSeconds(remaining) };
};

/**
 * After a send: a 1893063 refusal holds the account and returns the step for the hold (not a failure of the
 * step: nothing is aborted, no typing_off is sent into the same refusal); any success lifts the hold.
 * Undefined when the result is not a restriction (or on the final receive): the per-step rules decide then.
 */
export const settleAccountHold = (
  deps: HoldDeps,
  step: HeldStep,
  result: { ok: true } | GraphFailure,
  finalReceive: boolean,
): RecordOutcome | undefined => {
  const holds = holdsOf(deps);
  if (result.ok) {
    holds.lift(step.pageId);
    return undefined;
  }
  if (!isAccountRestricted(result) || finalReceive) return undefined;
  const lengthMs = holds.restrict(step.pageId, deps.now());
  deps.telemetry.metric('AccountRestricted', 1);
  deps.telemetry.log.error('account temporarily restricted from sending by Meta; its steps are held', {
    account: step.pageId,
    user: userLabel(step.psid),
    sequenceId: step.sequenceId,
    index: step.index,
    holdSeconds: holdSeconds(lengthMs),
    ...failureAttributes(result),
  });
  return { done: false, visibilitySeconds: holdSeconds(lengthMs) };
};
