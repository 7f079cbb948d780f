/**
 * Aborted sequences: a step that failed for good stops the rest of its sequence (later steps are dropped,
 * the typing bubble is cleared), remembered in the state ledger so a later invocation sees it too. The
 * responder records aborts as well: a reply whose unsent part a newer message replaces (lib/responder/mid-reply.ts).
 */

import type { GraphFailure } from '../meta/graph/errors.ts';
import { codeLabel, failureAttributes } from '../meta/graph/errors.ts';
import { sendTargetOf } from '../meta/outbound.ts';
import { errorText } from '../platform/errors.ts';
import { abortKey } from '../platform/ledger.ts';
import { userLabel } from '../platform/telemetry.ts';
import type { QueuedStep } from '../queue/codec.ts';
import { actionKind } from '../queue/step.ts';
import type { ConsumerDeps } from './deps.ts';

type AbortDeps = Pick<ConsumerDeps, 'ledger' | 'telemetry' | 'graph'>;

/** Has an earlier step of this sequence failed for good? Fails open (false) when the ledger is unreadable. */
export const isSequenceAborted = async (
  deps: AbortDeps,
  step: QueuedStep,
  group: string,
): Promise<boolean> => {
  // Step 0 cannot follow a failure of its own sequence: skip the lookup, except for a message, which the
  // responder may have aborted before it was sent (RESPONDER_MID_REPLY=restart: a streamed bubble is a
  // sequence of its own, often starting with its message). A stray typing_on is harmless: the next turn types.
  if (step.index === 0 && actionKind(step.action) !== 'message') return false;
  try {
    return await deps.ledger.has(abortKey(group, step.sequenceId));
  } catch (error) {
    // Fail open: an unreadable ledger must not stall every user; an aborted sequence fails again anyway.
    deps.telemetry.log.warn('abort ledger unreadable; sending', {
      user: userLabel(step.psid),
      error: errorText(error),
    });
    deps.telemetry.metric('LedgerReadFailed', 1);
    return false;
  }
};

/** Counts and logs a permanent failure; a rejected token also gets its own alarmable metric. */
const reportFailure = (deps: AbortDeps, step: QueuedStep, failure: GraphFailure): void => {
  const { log, metric } = deps.telemetry;
  log.error('step failed permanently; sequence aborted', {
    user: userLabel(step.psid),
    sequenceId: step.sequenceId,
    index: step.index,
    action: actionKind(step.action),
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
};

/** The user saw a typing bubble and Graph can still reach them: clear it rather than leave it hanging. */
const needsTypingOff = (step: QueuedStep, failure: GraphFailure): boolean => {
  const kind = actionKind(step.action);
  const typingShown = kind === 'message' || kind === 'typing_on';
  return typingShown && !failure.tokenInvalid && !failure.recipientUnreachable;
};

/** Permanent failure or exhausted retries: stop the sequence, clear the typing bubble, count it. */
export const abortSequence = async (
  deps: AbortDeps,
  step: QueuedStep,
  group: string,
  failure: GraphFailure,
): Promise<void> => {
  reportFailure(deps, step, failure);
  try {
    await deps.ledger.record(abortKey(group, step.sequenceId));
  } catch (error) {
    // Later steps will then be tried and most likely fail the same way: noisy, not wrong.
    deps.telemetry.log.error('could not record the abort', {
      user: userLabel(step.psid),
      sequenceId: step.sequenceId,
      error: errorText(error),
    });
  }
  if (!needsTypingOff(step, failure)) return;
  const off = await deps.graph
    .sendAction({ ...sendTargetOf(step), action: { sender_action: 'typing_off' } })
    .catch(() => undefined);
  if (!off?.ok) deps.telemetry.metric('TypingOffFailed', 1);
};
