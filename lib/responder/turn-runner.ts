/**
 * Runs the responder for one turn while the user watches: typing kept alive for as long as it thinks (up to
 * the thinking deadline), each reply paced and enqueued on the steps queue the moment it exists (a stream
 * becomes several naturally typed bubbles), typing switched off when it ends without a word. The function
 * waits only on the responder's own I/O; every pause the user sees is realised by the sender (SQS).
 */
import { createHash } from 'node:crypto';
import type { Responder, ResponderOutput } from '../bots/responder.ts';
import { planConfigForChannel } from '../meta/whatsapp/typing.ts';
import type { PlanConfig } from '../pacing/config.ts';
import { keepAlive, type Pace, type PacedSteps, paceReply } from '../pacing/plan.ts';
import { describeIssues } from '../platform/issues.ts';
import { type Telemetry, userLabel } from '../platform/telemetry.ts';
import { type InboundEvent, sequenceTargetOf } from '../queue/inbound.ts';
import type { QueuedInbound } from '../queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../queue/producer.ts';
import { type Reply, replySchema } from '../queue/reply.ts';
import type { Quote, Step } from '../queue/step.ts';
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

/**
 * The turn's first message bubble names the message it answers (`quote`): the sender quotes it only if the
 * user has written again by the time it goes out (lib/sender/user-hold.ts quotedOrPlain). One bubble, not
 * every one: a quote says which message is answered, once.
 */
const quoting = (inbounds: readonly QueuedInbound[]) => {
  const mid = inbounds[inbounds.length - 1]?.event.mid;
  const quote: Quote | undefined =
    mid === undefined ? undefined : { mid, at: Math.round(Math.max(...inbounds.map((i) => i.receivedAt))) };
  let quoted = false;
  return (steps: readonly Step[]): Step[] =>
    steps.map((s) => {
      if (quote === undefined || quoted || !('message' in s.action)) return s;
      quoted = true;
      return { ...s, action: { ...s.action, quote } };
    });
};

/** One run's enqueue: each batch of steps is its own sequence (turnSequenceId). */
const sequencer = (inbounds: readonly QueuedInbound[], attempt: number, deps: TurnRunnerDeps) => {
  const last = inbounds[inbounds.length - 1]?.event;
  if (last === undefined) throw new Error('a turn has at least one message');
  const eventIds = inbounds.map((i) => i.event.eventId);
  const quote = quoting(inbounds);
  let indicators = 0;
  return async (paced: PacedSteps, replyFrom?: number): Promise<void> => {
    if (replyFrom === undefined) indicators += 1;
    const kind = replyFrom === undefined ? { indicator: indicators } : { replyFrom };
    await deps.enqueue({
      ...sequenceTargetOf(last),
      sequenceId: turnSequenceId(eventIds, attempt, kind),
      steps: quote(paced.steps),
      plannedAt: Math.round(paced.plannedAt),
      // What a user hold compares: the newest message this turn answers (lib/sender/user-hold.ts).
      originAt: Math.max(...inbounds.map((i) => i.receivedAt)),
      // A rerun (a crash, a retry, a deferral): the sender checks its sent-step record even on the steps'
      // first receive, since the earlier run's copies may have gone out more than SQS's 5 minutes ago.
      ...(attempt > 1 && { replayed: true }),
    });
  };
};

/**
 * Runs the turn. `attempt` (the head's receive count) keeps a rerun's typing indicators apart from the
 * earlier run's (its replies share their ids: turnSequenceId); `deadlineAt` is when thinking must stop (lib/responder/turn.ts thinkingDeadline). A list is paced
 * as one sequence (a permanent Graph failure then drops all of it); a stream item by item, each its own.
 */
export const runTurn = async (
  inbounds: readonly QueuedInbound[],
  options: { attempt: number; deadlineAt: number },
  deps: TurnRunnerDeps,
): Promise<TurnOutcome> => {
  // A person's words (lib/webhook/takeover.ts) are context, never the user's message to answer.
  const answerable = inbounds.filter((i) => i.author !== 'person');
  if (answerable.length < inbounds.length) return runTurn(answerable, options, deps);
  const events = inbounds.map((i) => Object.freeze({ ...i.event }));
  const last = events[events.length - 1];
  if (last === undefined) return { kind: 'silent' };
  const run: TurnRun = {
    deps,
    deadlineAt: options.deadlineAt,
    last,
    who: { user: userLabel(last.psid), eventId: last.eventId, messages: events.length },
    enqueue: sequencer(inbounds, options.attempt, deps),
    thinking: new AbortController(),
    pace: initialPace(inbounds),
    replies: 0,
  };
  try {
    return await followResponder(run, events);
  } catch (error) {
    deps.telemetry.metric('ResponderErrors', 1);
    deps.telemetry.log.error('responder failed', { ...run.who, error });
    await stopTyping(run).catch(() => undefined);
    return { kind: 'failed', error, replies: run.replies };
  }
};

/** One run of a turn: what it has shown so far (pace, replies) and the stream it is reading, if any. */
type TurnRun = {
  deps: TurnRunnerDeps;
  deadlineAt: number;
  last: InboundEvent;
  who: { user: string; eventId: string; messages: number };
  enqueue: ReturnType<typeof sequencer>;
  thinking: AbortController;
  pace: Pace;
  replies: number;
  iterator?: AsyncIterator<unknown>;
};

/** Calls the responder and follows its output — a list at once, a stream item by item — until it ends. */
const followResponder = async (run: TurnRun, events: readonly InboundEvent[]): Promise<TurnOutcome> => {
  const { responder } = run.deps;
  const output = Promise.resolve().then(() => responder(run.last, { events, signal: run.thinking.signal }));
  let pending: Promise<Next> = output.then((o) => ({ kind: 'output', output: o }));
  for (;;) {
    const next = await awaitNext(run, pending);
    if (next === TICK) return await timedOut(run);
    if (next.kind === 'output' && !isStream(next.output)) {
      await paceAll(run, Array.isArray(next.output) ? next.output : []);
      break;
    }
    if (next.kind === 'output')
      run.iterator = (next.output as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    else if (next.result.done) break;
    else await paceAll(run, [next.result.value]);
    const it = run.iterator;
    if (it === undefined) break;
    pending = it.next().then((result) => ({ kind: 'item', result }));
  }
  await stopTyping(run);
  return run.replies > 0 ? { kind: 'answered', replies: run.replies } : { kind: 'silent' };
};

/** A responder's reply as the schema allows it, or undefined (counted and logged, never sent). */
const validReply = (run: TurnRun, candidate: unknown): Reply | undefined => {
  const parsed = replySchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  run.deps.telemetry.metric('InvalidReplies', 1);
  run.deps.telemetry.log.warn('responder returned an invalid reply; dropped', {
    ...run.who,
    issues: describeIssues(parsed.error.issues),
  });
  return undefined;
};

/** Validated replies, paced one after the other into one batch of steps. */
const paceAll = async (run: TurnRun, candidates: readonly unknown[]): Promise<void> => {
  const steps: PacedSteps = { steps: [], plannedAt: 0 };
  const replyFrom = run.replies + 1;
  for (const candidate of candidates) {
    const reply = validReply(run, candidate);
    if (reply === undefined) continue;
    // WhatsApp's indicator lives 25 s and may not refresh inside them (lib/meta/whatsapp/typing.ts).
    const config = planConfigForChannel(run.last.channel, run.deps.planConfig);
    const next = paceReply(run.pace, reply, run.deps.now(), run.last.eventId, config);
    if (steps.steps.length === 0) steps.plannedAt = next.paced.plannedAt;
    steps.steps.push(...next.paced.steps);
    run.pace = next.pace;
    run.replies += 1;
  }
  if (steps.steps.length > 0) await run.enqueue(steps, replyFrom);
};

const stopTyping = async (run: TurnRun): Promise<void> => {
  if (run.pace.typingSince === undefined) return;
  await run.enqueue({
    steps: [{ action: { sender_action: 'typing_off' }, delayMs: 0 }],
    plannedAt: run.deps.now(),
  });
  run.pace = { ...run.pace, typingSince: undefined, refreshedAt: undefined };
};

/** Waits for the responder's next move, keeping the bubble alive; TICK when thinking ran out. */
const awaitNext = async (run: TurnRun, pending: Promise<Next>): Promise<Next | typeof TICK> => {
  const { deps } = run;
  // Observed at once: a responder may fail while a keep-alive is being enqueued, before the race below
  // (or after a timeout, when nobody waits for it any more); the race still sees the rejection.
  pending.catch(() => undefined);
  for (;;) {
    const alive = keepAlive(run.pace, deps.now(), planConfigForChannel(run.last.channel, deps.planConfig));
    if (alive.paced) await run.enqueue(alive.paced);
    run.pace = alive.pace;
    const timer = new AbortController();
    const wakeAt = Math.min(alive.nextAt, run.deadlineAt);
    const result = await Promise.race([
      pending,
      deps.sleep(Math.max(0, wakeAt - deps.now()), timer.signal).then((): typeof TICK => TICK),
    ]);
    timer.abort();
    if (result !== TICK) return result;
    if (deps.now() >= run.deadlineAt) return TICK;
  }
};

const timedOut = async (run: TurnRun): Promise<TurnOutcome> => {
  run.thinking.abort();
  void run.iterator?.return?.().catch(() => undefined);
  run.deps.telemetry.metric('ResponderTimeouts', 1);
  run.deps.telemetry.log.warn('responder ran out of thinking time', { ...run.who, replies: run.replies });
  if (run.deps.fallback !== undefined) await paceAll(run, [run.deps.fallback]);
  await stopTyping(run);
  return { kind: 'timed_out', replies: run.replies };
};
