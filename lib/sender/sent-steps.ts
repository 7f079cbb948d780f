/**
 * The sent-step record: after Graph accepted a message step, its key goes into the state table, so a
 * redelivery of that step (the invocation died or timed out after the answer, or Lambda's delete of the
 * record failed) is not sent a second time. In the spirit of Powertools Idempotency, but one write per
 * message and no in-progress state: a crash *during* the Graph call leaves no record, and is the ambiguous
 * case the unknown-outcome policy covers (README, Delivery guarantees).
 *
 * Only messages: repeating an indicator or a reaction shows the user nothing new. Only redeliveries and
 * replayed steps read it: a step on its first receive cannot have been sent before, unless a rerun of the
 * responder's turn re-enqueued it under the same ids (`replayed`, lib/responder/turn-runner.ts turnSequenceId)
 * after SQS's 5-minute deduplication window. Both sides fail open (counted).
 */

import { errorText } from '../platform/errors.ts';
import { keyOf } from '../platform/ledger.ts';
import { userLabel } from '../platform/telemetry.ts';
import type { QueuedStep } from '../queue/codec.ts';
import { actionKind } from '../queue/step.ts';
import type { ConsumerDeps } from './deps.ts';
import { isRepeatable } from './schedule.ts';

type SentDeps = Pick<ConsumerDeps, 'ledger' | 'telemetry'>;

/** One key per step of a user's sequence; the group id already names page and user. */
export const sentKey = (groupId: string, step: Pick<QueuedStep, 'sequenceId' | 'index'>): string =>
  keyOf('sent', groupId, `${step.sequenceId}#${step.index}`);

const tracked = (step: QueuedStep): boolean => !isRepeatable(actionKind(step.action));

/** Was this step already accepted by Graph in an earlier receive? False on a first receive, or unreadable. */
export const wasSent = async (
  deps: SentDeps,
  group: string,
  step: QueuedStep,
  receiveCount: number,
): Promise<boolean> => {
  if ((receiveCount <= 1 && step.replayed !== true) || !tracked(step)) return false;
  try {
    return await deps.ledger.has(sentKey(group, step));
  } catch (error) {
    deps.telemetry.log.warn('sent-step record unreadable; sending', {
      user: userLabel(step.psid),
      error: errorText(error),
    });
    deps.telemetry.metric('LedgerReadFailed', 1);
    return false;
  }
};

/** Remembers that Graph accepted this step. Never throws. */
export const recordSent = async (deps: SentDeps, group: string, step: QueuedStep): Promise<void> => {
  if (!tracked(step)) return;
  try {
    await deps.ledger.record(sentKey(group, step));
  } catch (error) {
    deps.telemetry.log.warn('could not record a sent step', {
      user: userLabel(step.psid),
      error: errorText(error),
    });
    deps.telemetry.metric('LedgerWriteFailed', 1);
  }
};
