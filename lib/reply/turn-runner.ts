/**
 * Runs the responder for one turn while the user watches: typing kept alive for as long as it thinks (up to
 * the thinking deadline), each reply paced and enqueued on the steps queue the moment it exists (a stream
 * becomes several naturally typed bubbles), typing switched off when it ends without a word. The function
 * waits only on the responder's own I/O; every pause the user sees is realised by the sender (SQS).
 */
import { createHash } from 'node:crypto';
import type { PlanConfig } from '../platform/config.ts';
import { describeIssues } from '../platform/issues.ts';
import { type Telemetry, userLabel } from '../platform/telemetry.ts';
import { sequenceTargetOf } from '../queue/inbound.ts';
import type { QueuedInbound } from '../queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../queue/producer.ts';
import { keepAlive, type Pace, type PacedSteps, paceReply } from './plan.ts';
import { type Reply, replySchema } from './reply.ts';
import type { Responder, ResponderOutput } from './responder.ts';
import { initialPace } from './turn.ts';

export type TurnRunnerDeps = {
  responder: Responder;
  enqueue: (seq: SequenceToEnqueue) => Promise<unknown>;
  planConfig: PlanConfig;
  /** Sent when thinking runs out of time; undefined = say nothing. */
  fallback?: Reply;
  now: () => number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  telemetry: Telemetry;
};

export type TurnOutcome =
  | { kind: 'answered'; replies: number }
  | { kind: 'silent' }
  | { kind: 'timed_out'; replies: number }
  | { kind: 'failed'; error: unknown; replies: number };

const TICK: unique symbol = Symbol('tick');

/** What the responder gave next: its whole output (a list, or the stream to read), or the stream's next item. */
type Next = { kind: 'output'; output: ResponderOutput } | { kind: 'item'; result: IteratorResult<unknown> };

const isStream = (output: ResponderOutput): output is AsyncIterable<Reply> =>
  typeof output === 'object' && output !== null && Symbol.asyncIterator in output;

/** What an enqueue carries: replies (from the turn's `first` reply on), or a typing indicator. */
export type SequenceKind = { replyFrom: number } | { indicator: number };

/**
 * The sequence id of a turn's enqueue, the same on every run of the same turn: `<lastEventId>~<digest>.…`,
 * the digest naming every event of the turn (a turn redelivered with a newer message is another turn and
 * answers it). Replies are numbered by reply, not by run, so a run after a crash re-enqueues the replies
 * already enqueued under the same ids and SQS FIFO dedup (5 min) or the sender's sent-step record drops
 * them. Indicators carry the attempt: a rerun shows its own typing (repeating one shows nothing new).
 */
export const turnSequenceId = (eventIds: readonly string[], attempt: number, kind: SequenceKind): string => {
  const digest = createHash('sha256').update(eventIds.join('\n')).digest('hex').slice(0, 16);
  const suffix = 'replyFrom' in kind ? `r${kind.replyFrom}` : `${attempt}.t${kind.indicator}`;
  return `${eventIds[eventIds.length - 1]}~${digest}.${suffix}`;
};

/** One run's enqueue: each batch of steps is its own sequence (turnSequenceId). */
const sequencer = (inbounds: readonly QueuedInbound[], attempt: number, deps: TurnRunnerDeps) => {
  const last = inbounds[inbounds.length - 1]?.event;
  if (last === undefined) throw new Error('a turn has at least one message');
  const eventIds = inbounds.map((i) => i.event.eventId);
  let indicators = 0;
  return async (paced: PacedSteps, replyFrom?: number): Promise<void> => {
    if (replyFrom === undefined) indicators += 1;
    const kind = replyFrom === undefined ? { indicator: indicators } : { replyFrom };
    await deps.enqueue({
      ...sequenceTargetOf(last),
      sequenceId: turnSequenceId(eventIds, attempt, kind),
      steps: paced.steps,
      plannedAt: Math.round(paced.plannedAt),
      // A rerun (a crash, a retry, a deferral): the sender checks its sent-step record even on the steps'
      // first receive, since the earlier run's copies may have gone out more than SQS's 5 minutes ago.
      ...(attempt > 1 && { replayed: true }),
    });
  };
};

/**
 * Runs the turn. `attempt` (the head's receive count) keeps a rerun's typing indicators apart from the
 * earlier run's (its replies share their ids: turnSequenceId); `deadlineAt` is when thinking must stop (lib/reply/turn.ts thinkingDeadline). A list is paced
 * as one sequence (a permanent Graph failure then drops all of it); a stream item by item, each its own.
 */
export const runTurn = async (
  inbounds: readonly QueuedInbound[],
  options: { attempt: number; deadlineAt: number },
  deps: TurnRunnerDeps,
): Promise<TurnOutcome> => {
  const { telemetry, planConfig } = deps;
  const events = inbounds.map((i) => Object.freeze({ ...i.event }));
  const last = events[events.length - 1];
  if (last === undefined) return { kind: 'silent' };
  const who = { user: userLabel(last.psid), eventId: last.eventId, messages: events.length };
  const enqueue = sequencer(inbounds, options.attempt, deps);
  const thinking = new AbortController();
  let pace: Pace = initialPace(inbounds);
  let replies = 0;
  let iterator: AsyncIterator<unknown> | undefined;

  /** Validated replies, paced one after the other into one batch of steps. */
  const paceAll = async (candidates: readonly unknown[]): Promise<void> => {
    const steps: PacedSteps = { steps: [], plannedAt: 0 };
    const replyFrom = replies + 1;
    for (const candidate of candidates) {
      const parsed = replySchema.safeParse(candidate);
      if (!parsed.success) {
        telemetry.metric('InvalidReplies', 1);
        telemetry.log.warn('responder returned an invalid reply; dropped', {
          ...who,
          issues: describeIssues(parsed.error.issues),
        });
        continue;
      }
      const next = paceReply(pace, parsed.data, deps.now(), last.eventId, planConfig);
      if (steps.steps.length === 0) steps.plannedAt = next.paced.plannedAt;
      steps.steps.push(...next.paced.steps);
      pace = next.pace;
      replies += 1;
    }
    if (steps.steps.length > 0) await enqueue(steps, replyFrom);
  };

  const stopTyping = async () => {
    if (pace.typingSince === undefined) return;
    await enqueue({
      steps: [{ action: { sender_action: 'typing_off' }, delayMs: 0 }],
      plannedAt: deps.now(),
    });
    pace = { ...pace, typingSince: undefined, refreshedAt: undefined };
  };

  /** Waits for the responder's next move, keeping the bubble alive; TICK when thinking ran out. */
  const awaitNext = async (pending: Promise<Next>): Promise<Next | typeof TICK> => {
    // Observed at once: a responder may fail while a keep-alive is being enqueued, before the race below
    // (or after a timeout, when nobody waits for it any more); the race still sees the rejection.
    pending.catch(() => undefined);
    for (;;) {
      const alive = keepAlive(pace, deps.now(), planConfig);
      if (alive.paced) await enqueue(alive.paced);
      pace = alive.pace;
      const timer = new AbortController();
      const wakeAt = Math.min(alive.nextAt, options.deadlineAt);
      const result = await Promise.race([
        pending,
        deps.sleep(Math.max(0, wakeAt - deps.now()), timer.signal).then((): typeof TICK => TICK),
      ]);
      timer.abort();
      if (result !== TICK) return result;
      if (deps.now() >= options.deadlineAt) return TICK;
    }
  };

  const timedOut = async (): Promise<TurnOutcome> => {
    thinking.abort();
    void iterator?.return?.().catch(() => undefined);
    telemetry.metric('ResponderTimeouts', 1);
    telemetry.log.warn('responder ran out of thinking time', { ...who, replies });
    if (deps.fallback !== undefined) await paceAll([deps.fallback]);
    await stopTyping();
    return { kind: 'timed_out', replies };
  };

  try {
    const output = Promise.resolve().then(() => deps.responder(last, { events, signal: thinking.signal }));
    let pending: Promise<Next> = output.then((o) => ({ kind: 'output', output: o }));
    for (;;) {
      const next = await awaitNext(pending);
      if (next === TICK) return await timedOut();
      if (next.kind === 'output' && !isStream(next.output)) {
        await paceAll(Array.isArray(next.output) ? next.output : []);
        break;
      }
      if (next.kind === 'output') iterator = (next.output as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      else if (next.result.done) break;
      else await paceAll([next.result.value]);
      const it = iterator;
      if (it === undefined) break;
      pending = it.next().then((result) => ({ kind: 'item', result }));
    }
    await stopTyping();
    return replies > 0 ? { kind: 'answered', replies } : { kind: 'silent' };
  } catch (error) {
    telemetry.metric('ResponderErrors', 1);
    telemetry.log.error('responder failed', { ...who, error });
    await stopTyping().catch(() => undefined);
    return { kind: 'failed', error, replies };
  }
};
