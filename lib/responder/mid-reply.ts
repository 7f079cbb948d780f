/**
 * Messages that arrive while a reply is still being typed (RESPONDER_MID_REPLY). `finish` (default): the new
 * turn queues behind the unsent steps in the user's FIFO group. `restart`: the unsent part of the previous
 * reply is dropped — an abort recorded in the state ledger, which the sender checks before every step
 * (lib/sender/abort.ts) — and the new turn answers the previous turn's messages and the new ones at once.
 * The previous reply (its messages, sequences and when its last step is due) is remembered per user in the
 * state table with a TTL (lib/responder/mid-reply-dynamo.ts), or per-process memory for tests and the local stack.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Responder } from '../bots/responder.ts';
import { abortKey, type JsonStore, keyOf, type Ledger, memoryJsonStore } from '../platform/ledger.ts';
import { type Log, type Telemetry, userLabel } from '../platform/telemetry.ts';
import * as z from '../platform/zod.ts';
import { groupIdOf } from '../queue/codec.ts';
import { type InboundEvent, inboundEventSchema } from '../queue/inbound.ts';
import type { QueuedInbound } from '../queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../queue/producer.ts';

export type MidReplyPolicy = 'finish' | 'restart';

export const replyInFlightSchema = z.object({
  /** The messages the reply answers, oldest first. */
  events: z.array(inboundEventSchema),
  /** The steps queue's group of the user (abort keys are per group and sequence). */
  group: z.string(),
  sequenceIds: z.array(z.string()),
  /** When its last step is due (epoch ms): before then, some of it may still be unsent. */
  endsAt: z.number(),
});
export type ReplyInFlight = z.infer<typeof replyInFlightSchema>;

export type ReplyMemory = JsonStore<ReplyInFlight>;

/** One remembered reply per (account, user). */
export const replyKey = (pageId: string, psid: string): string => keyOf('reply', pageId, psid);

/**
 * The messages of both turns, oldest first, each once (a retried turn may already hold the earlier ones).
 * The earlier turn's messages all arrived before the current turn's: concatenation keeps the order.
 */
export const mergeEvents = (
  earlier: readonly InboundEvent[],
  current: readonly InboundEvent[],
): InboundEvent[] => {
  const seen = new Set<string>();
  const merged: InboundEvent[] = [];
  for (const e of [...earlier, ...current]) {
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    merged.push(e);
  }
  return merged;
};

export type MidReplyDecision =
  | { restart: false }
  | { restart: true; abort: readonly string[]; events: InboundEvent[] };

/** Restart only under `restart`, and only while the previous reply may still have unsent steps. */
export const decideMidReply = (
  policy: MidReplyPolicy,
  previous: ReplyInFlight | undefined,
  current: readonly InboundEvent[],
  now: number,
): MidReplyDecision => {
  if (policy !== 'restart' || previous === undefined || previous.endsAt <= now) return { restart: false };
  const abort = previous.sequenceIds.map((id) => abortKey(previous.group, id));
  return { restart: true, abort, events: mergeEvents(previous.events, current) };
};

/** When a sequence's last step is due: its steps' delays are relative, one after the other. */
export const sequenceEndsAt = (seq: SequenceToEnqueue): number =>
  seq.plannedAt + seq.steps.reduce((sum, s) => sum + s.delayMs, 0);

export type MidReplyDeps = {
  policy: MidReplyPolicy;
  replies: ReplyMemory;
  ledger: Pick<Ledger, 'record'>;
  telemetry: Telemetry;
  now: () => number;
};

const recordAborts = async (keys: readonly string[], deps: MidReplyDeps, user: string): Promise<boolean> => {
  try {
    await Promise.all(keys.map((k) => deps.ledger.record(k)));
    return true;
  } catch (error) {
    deps.telemetry.log.warn('could not abort the reply in flight; finishing it first', { user, error });
    return false;
  }
};

type Wrapped = { responder: Responder; enqueue: (seq: SequenceToEnqueue) => Promise<unknown> };

/**
 * Opens a turn under the policy: what the responder sees and what is enqueued are wrapped (the turn runner
 * stays unaware), and `remember` stores this turn's reply for the next. The memory fails open: unreadable,
 * the turn finishes as under `finish`.
 */
export const openTurn = async (
  inbounds: readonly QueuedInbound[],
  deps: MidReplyDeps,
  runner: Wrapped,
): Promise<Wrapped & { remember: () => Promise<void> }> => {
  const current = inbounds.map((i) => i.event);
  const last = current[current.length - 1];
  if (last === undefined) throw new Error('a turn has at least one message');
  const key = replyKey(last.pageId, last.psid);
  const user = userLabel(last.psid);
  const previous = await deps.replies.load(key).catch((error: unknown) => {
    deps.telemetry.log.warn('mid-reply memory unreadable; finishing the previous reply', { user, error });
    return undefined;
  });
  const decision = decideMidReply(deps.policy, previous, current, deps.now());
  // Without its aborts recorded the old reply would go on: then it is finished, never answered twice.
  const restarted = decision.restart && (await recordAborts(decision.abort, deps, user));
  const events = restarted ? decision.events : current;
  if (restarted) {
    deps.telemetry.metric('RepliesRestarted', 1);
    deps.telemetry.log.info('unsent reply dropped; answering all messages at once', {
      user,
      messages: events.length,
    });
  }
  const reply: ReplyInFlight = {
    events,
    group: groupIdOf(last.pageId, last.psid),
    sequenceIds: [],
    endsAt: 0,
  };
  return { ...recordingRunner(runner, reply), remember: () => rememberReply(deps, key, reply, user) };
};

/** The runner, answering the turn's `events` and noting each enqueued sequence in `reply`. */
const recordingRunner = (runner: Wrapped, reply: ReplyInFlight): Wrapped => ({
  responder: (event, turn) =>
    runner.responder(event, { ...turn, events: reply.events.map((e) => Object.freeze({ ...e })) }),
  enqueue: async (seq) => {
    const sent = await runner.enqueue(seq);
    reply.sequenceIds.push(seq.sequenceId);
    reply.endsAt = Math.max(reply.endsAt, sequenceEndsAt(seq));
    return sent;
  },
});

/** Saves the reply in flight; a failed save only means the next message cannot restart it. */
const rememberReply = (deps: MidReplyDeps, key: string, reply: ReplyInFlight, user: string) =>
  deps.replies.save(key, reply).catch((error: unknown) => {
    deps.telemetry.log.warn('could not remember the reply; the next message will not restart it', {
      user,
      error,
    });
  });

/** Per-process memory with a TTL; the oldest users go first beyond `maxEntries`. */
export const memoryReplies = (options: {
  ttlMs: number;
  now?: () => number;
  maxEntries?: number;
}): ReplyMemory => memoryJsonStore(options);

/** Long enough for any reply still being typed (its `endsAt` decides); short enough to stay small. */
export const REPLY_TTL_SECONDS = 3600;

/**
 * The memory a function uses: the state table when STATE_TABLE_NAME is set (its module loaded on first use,
 * off the cold start), else per-container memory, announced with a warning.
 */
export const stateReplies = (options: {
  tableName: string | undefined;
  now: () => number;
  log: Pick<Log, 'warn'>;
  dynamo?: Pick<DynamoDBClient, 'send'> | undefined;
}): ReplyMemory => {
  const { tableName, now } = options;
  const ttlSeconds = REPLY_TTL_SECONDS;
  if (!tableName) {
    options.log.warn('STATE_TABLE_NAME not set: replies in flight are remembered per container only');
    return memoryReplies({ ttlMs: ttlSeconds * 1000, now });
  }
  let built: Promise<ReplyMemory> | undefined;
  const memory = () => {
    built ??= Promise.all([import('./mid-reply-dynamo.ts'), import('../platform/state-table.ts')]).then(
      ([{ dynamoReplies }, { stateTableClient }]) =>
        dynamoReplies(options.dynamo ?? stateTableClient(), tableName, { ttlSeconds, now }),
    );
    return built;
  };
  return {
    load: async (key) => (await memory()).load(key),
    save: async (key, reply) => (await memory()).save(key, reply),
  };
};
