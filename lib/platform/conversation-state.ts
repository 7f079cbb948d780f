/**
 * Who holds a conversation: one record per user (keyed like the FIFO group, lib/queue/codec.ts groupIdOf)
 * that every function reads before it speaks. A person answering from the Page inbox, another app taking the
 * thread (Conversation Routing), an operator's pause and a recipient Graph says is unreachable all come to
 * one number, `silentThrough`: nothing that began at or before it is ever sent — a queued step whose origin
 * (the user message it answers) is not later is dropped, and a message the user wrote by then is never
 * answered. So one write stops every queued sequence of the user at once, whichever container holds it.
 * The record also says when the bot last spoke and when a person last held the chat (disclosure,
 * docs/takeover.md). Kept in the state table (lib/platform/conversation-state-dynamo.ts), else in memory.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from './zod.ts';

export const HOLD_REASONS = ['person', 'routing', 'operator', 'recipient'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

/** Another app owns the thread: silent until a handover gives it back (JSON and DynamoDB keep it exact). */
export const UNTIL_RETURNED = Number.MAX_SAFE_INTEGER;

export const userRecordSchema = z.object({
  /** Anything that began at or before this time (epoch ms) is never sent. */
  silentThrough: z.optional(z.number()),
  reason: z.optional(z.enum(HOLD_REASONS)),
  /** When a person (or another app, or the operator) last held the chat: the next bot message discloses. */
  personAt: z.optional(z.number()),
  /** When the bot last enqueued a message for this user. */
  lastBotAt: z.optional(z.number()),
  /** When the user's newest message reached the webhook: a reply to an older one quotes it (docs/takeover.md). */
  lastInboundAt: z.optional(z.number()),
});
export type UserRecord = z.infer<typeof userRecordSchema>;

/** A hold to apply: silence through `through`; `at` is when it was decided. */
export type Hold = { through: number; reason: HoldReason; at: number };

export type ConversationState = {
  /** The user's record ({} when none or expired). May throw: callers fail open and count it. */
  read: (groupId: string) => Promise<UserRecord>;
  /** Extends the silence to `hold.through` (never shortens it) and notes who holds the chat. */
  hold: (groupId: string, hold: Hold) => Promise<void>;
  /** Ends any hold at `at`: what began after it is answered again (operator resume, thread returned). */
  release: (groupId: string, at: number) => Promise<void>;
  /** The bot enqueued a message at `at`. */
  botSpoke: (groupId: string, at: number) => Promise<void>;
  /** The user wrote; the webhook received it at `at`. */
  userWrote: (groupId: string, at: number) => Promise<void>;
};

/** Is there a message of the user newer than the one received at `answeredAt`? (Then a reply quotes it.) */
export const userWroteSince = (record: UserRecord, answeredAt: number): boolean =>
  record.lastInboundAt !== undefined && record.lastInboundAt > answeredAt;

/** Was something that began at `originAt` silenced? (origin ≤ silentThrough) */
export const isWithheld = (record: UserRecord, originAt: number): boolean =>
  record.silentThrough !== undefined && originAt <= record.silentThrough;

/** A person, another app or the operator holds the chat (not a recipient stop): the bot keeps quiet. */
export const heldByPerson = (record: UserRecord, now: number): boolean =>
  record.reason !== undefined && record.reason !== 'recipient' && isWithheld(record, now);

/**
 * Whether the next bot message must be preceded by the disclosure (Meta, Send Messages: at the start of a
 * conversation, after a significant lapse, and when a chat moves from a person to automation).
 */
export const disclosureDue = (record: UserRecord, now: number, afterMs: number): boolean => {
  if (record.lastBotAt === undefined) return true;
  if (now - record.lastBotAt > afterMs) return true;
  return record.personAt !== undefined && record.personAt > record.lastBotAt;
};

/** The record after a hold: the later silence wins; a person-type hold moves personAt. */
export const withHold = (record: UserRecord, hold: Hold): UserRecord => {
  const longer = record.silentThrough === undefined || hold.through > record.silentThrough;
  const personAt = hold.reason === 'recipient' ? record.personAt : Math.max(record.personAt ?? 0, hold.at);
  return {
    ...record,
    ...(longer && { silentThrough: hold.through, reason: hold.reason }),
    ...(personAt !== undefined && { personAt }),
  };
};

/** Per-process state with a TTL per record (tests, the local stack); the oldest users go first. */
export const memoryConversationState = (
  options: { ttlMs: number; now?: () => number; maxEntries?: number } = { ttlMs: 30 * 86_400_000 },
): ConversationState => {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const records = new Map<string, { record: UserRecord; expiresAt: number }>();
  const current = (key: string): UserRecord => {
    const entry = records.get(key);
    return entry === undefined || entry.expiresAt <= now() ? {} : { ...entry.record };
  };
  const put = (key: string, record: UserRecord) => {
    records.delete(key);
    records.set(key, { record, expiresAt: now() + options.ttlMs });
    for (const oldest of records.keys()) {
      if (records.size <= maxEntries) break;
      records.delete(oldest);
    }
  };
  return {
    read: async (key) => current(key),
    hold: async (key, hold) => put(key, withHold(current(key), hold)),
    release: async (key, at) => put(key, { ...current(key), silentThrough: at }),
    botSpoke: async (key, at) => put(key, { ...current(key), lastBotAt: at }),
    userWrote: async (key, at) => {
      const record = current(key);
      put(key, { ...record, lastInboundAt: Math.max(record.lastInboundAt ?? 0, at) });
    },
  };
};

/** Thirty days after its last write: outlives any pause, and forgets users who went quiet long ago. */
export const USER_STATE_TTL_SECONDS = 30 * 86_400;

/**
 * The state a function uses: DynamoDB when STATE_TABLE_NAME is set (its module loaded on the first call),
 * otherwise per-container memory — which the local stack shares between its functions.
 */
export const stateConversations = (options: {
  tableName: string | undefined;
  now: () => number;
  dynamo?: Pick<DynamoDBClient, 'send'> | undefined;
}): ConversationState => {
  const { tableName, now } = options;
  if (!tableName) return memoryConversationState({ ttlMs: USER_STATE_TTL_SECONDS * 1000, now });
  let built: Promise<ConversationState> | undefined;
  const state = () => {
    built ??= Promise.all([import('./conversation-state-dynamo.ts'), import('./state-table.ts')]).then(
      ([module, table]) =>
        module.dynamoConversationState(options.dynamo ?? table.stateTableClient(), tableName, {
          ttlSeconds: USER_STATE_TTL_SECONDS,
          now,
        }),
    );
    built.catch(() => {
      built = undefined;
    });
    return built;
  };
  return {
    read: async (key) => (await state()).read(key),
    hold: async (key, hold) => (await state()).hold(key, hold),
    release: async (key, at) => (await state()).release(key, at),
    botSpoke: async (key, at) => (await state()).botSpoke(key, at),
    userWrote: async (key, at) => (await state()).userWrote(key, at),
  };
};
