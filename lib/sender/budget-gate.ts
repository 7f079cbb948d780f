/**
 * Per-account call budgets in the sender's path: before a Graph call the step takes its place in its
 * account's second (budget-store.ts) or is shed / deferred (budget.ts decides); after a rate refusal
 * (613 / 130429 / 131056) the account's seconds are marked full for every sender instance and the step is
 * shed or deferred flat, instead of each step retrying on its own backoff into the same limit.
 */
import { codeLabel, type GraphFailure, rateScopeOf } from '../meta/graph/errors.ts';
import { PAIR_RATE_RETRY_MS } from '../meta/whatsapp/errors.ts';
import { errorText } from '../platform/errors.ts';
import type { QueuedStep } from '../queue/codec.ts';
import type { ActionKind } from '../queue/step.ts';
import {
  accountBudget,
  type BudgetClass,
  type BudgetDecision,
  budgetClassOf,
  budgetDecision,
  budgetSignalSeconds,
  signalDecision,
  takeCeiling,
  windowOf,
} from './budget.ts';
import type { ConsumerDeps } from './deps.ts';
import type { RecordOutcome } from './record.ts';

/** What the gate needs of the step being processed. */
export type BudgetedStep = {
  deps: ConsumerDeps;
  step: QueuedStep;
  kind: ActionKind;
  user: string;
  receiveCount: number;
  finalReceive: boolean;
};

const classOf = (s: BudgetedStep): BudgetClass => budgetClassOf(s.kind, s.step.refresh === true);

/** A decision as the consumer's outcome: shed = done now (in its place), defer = back to SQS. */
const outcomeOf = (s: BudgetedStep, decision: BudgetDecision, why: string): RecordOutcome | undefined => {
  const { metric, log } = s.deps.telemetry;
  if (decision.kind === 'send') return undefined;
  if (decision.kind === 'shed') {
    metric('StepsShed', 1, 'Count', { action: s.kind });
    log.info('cosmetic step shed: account over its call budget', { user: s.user, action: s.kind, why });
    return { done: true, completedAt: s.deps.now() };
  }
  metric('StepsBudgetDeferred', 1, 'Count', { action: s.kind });
  return { done: false, visibilitySeconds: decision.seconds };
};

/**
 * Before a Graph call: undefined = send; else the step's outcome. Without a store (SENDER_CALL_BUDGET=off,
 * or deps built by hand) every step is sent. A store that cannot answer lets the step go (fail open, counted):
 * a missed budget costs at worst a 613, a blocked sender costs every conversation.
 */
export const budgetGate = async (s: BudgetedStep): Promise<RecordOutcome | undefined> => {
  const store = s.deps.budget;
  if (!store || s.deps.tuning.SENDER_CALL_BUDGET === 'off') return undefined;
  const klass = classOf(s);
  const ceiling = takeCeiling(accountBudget(s.step.channel ?? 'messenger', s.deps.tuning), klass);
  let taken: boolean;
  try {
    taken = await store.take(s.step.pageId, windowOf(s.deps.now()), ceiling);
  } catch (error) {
    s.deps.telemetry.metric('BudgetUnavailable', 1);
    s.deps.telemetry.log.warn('call budget unavailable; step sent unbudgeted', { error: errorText(error) });
    return undefined;
  }
  const decision = budgetDecision(
    { klass, taken, receiveCount: s.receiveCount, finalReceive: s.finalReceive },
    s.deps.random ?? Math.random,
  );
  return outcomeOf(s, decision, 'budget');
};

/**
 * After a failed call: a rate refusal marks the account's seconds full (pair: only this step waits) and
 * sheds or defers the step. Undefined when the failure is not a rate refusal, budgets are off, or on the
 * final receive (the per-step rules decide then, so SQS's redrive never takes a step silently).
 */
export const settleRateRefusal = async (
  s: BudgetedStep,
  failure: GraphFailure,
): Promise<RecordOutcome | undefined> => {
  const scope = rateScopeOf(failure);
  const store = s.deps.budget;
  if (!scope || !store || s.deps.tuning.SENDER_CALL_BUDGET === 'off' || s.finalReceive) return undefined;
  s.deps.telemetry.metric('RateRefusals', 1, 'Count', { code: codeLabel(failure) });
  const floorMs = scope === 'pair' ? PAIR_RATE_RETRY_MS : 1000;
  const seconds = budgetSignalSeconds(failure.retryAfterMs, floorMs);
  if (scope === 'account') {
    try {
      await store.saturate(s.step.pageId, windowOf(s.deps.now()), seconds);
    } catch (error) {
      s.deps.telemetry.metric('BudgetUnavailable', 1);
      s.deps.telemetry.log.warn('call budget unavailable; rate refusal not shared', {
        error: errorText(error),
      });
    }
  }
  return outcomeOf(s, signalDecision(classOf(s), { scope, seconds }), `graph ${codeLabel(failure)}`);
};
