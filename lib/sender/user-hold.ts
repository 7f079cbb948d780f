/**
 * The sender's side of a user hold (lib/platform/conversation-state.ts): before each step it reads the
 * user's record and drops a step whose origin is not later than the silence — a person answered, another
 * app owns the thread, the operator paused the bot, or Graph said the user cannot be reached. A message it
 * drops leaves the typing bubble the sequence showed: a person's hold clears it with typing_off (never while
 * another app owns the thread: then nothing at all is sent, Meta, Conversation Routing).
 * It also writes the recipient stop: a failure that names the user, not the step, stops every queued
 * sequence of that user, the reply enqueued after the failing prelude included.
 */
import type { GraphFailure } from '../meta/graph/errors.ts';
import { sendTargetOf } from '../meta/outbound.ts';
import { isWithheld, type UserRecord, userWroteSince } from '../platform/conversation-state.ts';
import { errorText } from '../platform/errors.ts';
import { userLabel } from '../platform/telemetry.ts';
import type { QueuedStep } from '../queue/codec.ts';
import { actionKind } from '../queue/step.ts';
import type { ConsumerDeps } from './deps.ts';

type HoldDeps = Pick<ConsumerDeps, 'conversations' | 'telemetry' | 'graph' | 'now'>;

/** Graph subcodes about the user, not the message (Send API error codes): outside the window, no such user. */
const USER_LEVEL_SUBCODES = new Set([2018278, 2018065, 2018001]);

/** Does this failure say the user cannot get any message now (not only this one)? */
export const isRecipientLevel = (failure: GraphFailure): boolean =>
  failure.recipientUnreachable === true ||
  (failure.subcode !== undefined && USER_LEVEL_SUBCODES.has(failure.subcode));

/** The record, or {} when it cannot be read: fail open like the abort ledger, counted. */
const recordOf = async (deps: HoldDeps, group: string, step: QueuedStep): Promise<UserRecord> => {
  if (deps.conversations === undefined) return {};
  try {
    return await deps.conversations.read(group);
  } catch (error) {
    deps.telemetry.metric('LedgerReadFailed', 1);
    deps.telemetry.log.warn('conversation state unreadable; sending', {
      user: userLabel(step.psid),
      error: errorText(error),
    });
    return {};
  }
};

/** A dropped message leaves the bubble its typing_on showed; a person's hold clears it. */
const clearTyping = async (deps: HoldDeps, step: QueuedStep, record: UserRecord): Promise<void> => {
  if (actionKind(step.action) !== 'message') return;
  if (record.reason === 'routing' || record.reason === 'recipient') return;
  const off = await deps.graph
    .sendAction({ ...sendTargetOf(step), action: { sender_action: 'typing_off' } })
    .catch(() => undefined);
  if (!off?.ok) deps.telemetry.metric('TypingOffFailed', 1);
};

/**
 * The step as it goes out: a reply keeps its quote only when the user wrote after the message it answers
 * (the same record read, no other): answering the latest message quotes nothing.
 */
export const quotedOrPlain = (step: QueuedStep, record: UserRecord): QueuedStep => {
  const { action } = step;
  if (!('message' in action) || action.quote === undefined) return step;
  if (userWroteSince(record, action.quote.at)) return step;
  const { quote: _quote, ...plain } = action;
  return { ...step, action: plain };
};

/** The one read of the user's record per step: withheld (already handled), or the step to send. */
export const checkHold = async (
  deps: HoldDeps,
  step: QueuedStep,
  group: string,
): Promise<{ withheld: true } | { withheld: false; step: QueuedStep }> => {
  const record = await recordOf(deps, group, step);
  if (await withheldBy(deps, step, record)) return { withheld: true };
  return { withheld: false, step: quotedOrPlain(step, record) };
};

/** True when the step is withheld (and then already handled: counted, logged, typing cleared). */
export const withheldByHold = async (deps: HoldDeps, step: QueuedStep, group: string): Promise<boolean> =>
  (await checkHold(deps, step, group)).withheld;

const withheldBy = async (deps: HoldDeps, step: QueuedStep, record: UserRecord): Promise<boolean> => {
  if (!isWithheld(record, step.originAt ?? step.plannedAt)) return false;
  const action = actionKind(step.action);
  // A typing_off only ends a bubble: let it through for a person's hold, so none is left hanging.
  if (action === 'typing_off' && record.reason !== 'routing' && record.reason !== 'recipient') return false;
  deps.telemetry.metric('StepsWithheld', 1, 'Count', { reason: record.reason ?? 'unknown', action });
  deps.telemetry.log.info('step withheld: the conversation is held', {
    user: userLabel(step.psid),
    sequenceId: step.sequenceId,
    index: step.index,
    reason: record.reason,
  });
  await clearTyping(deps, step, record);
  return true;
};

/** A recipient-level failure: every sequence of the user that began by now stops (the next message restarts). */
export const stopRecipient = async (
  deps: HoldDeps,
  step: QueuedStep,
  group: string,
  failure: GraphFailure,
) => {
  if (deps.conversations === undefined || !isRecipientLevel(failure)) return;
  const at = deps.now();
  try {
    await deps.conversations.hold(group, { through: at, reason: 'recipient', at });
  } catch (error) {
    deps.telemetry.metric('LedgerWriteFailed', 1);
    deps.telemetry.log.error('could not stop the recipient; their other sequences will fail alone', {
      user: userLabel(step.psid),
      error: errorText(error),
    });
  }
};
