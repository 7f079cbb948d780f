/**
 * The queue codec: one SQS message per step, one versioned schema, encoded and decoded only here.
 *
 * Bodies are ASCII-safe JSON (every non-ASCII UTF-16 unit written as \uXXXX). Real SQS accepts any
 * Unicode in the XML 1.0 allowed ranges, but some local SQS servers reject characters above U+FFFF (emoji);
 * escaping sidesteps both and round-trips exactly through JSON.parse.
 */
import { createHash } from 'node:crypto';
import { describeIssues } from '../platform/issues.ts';
import * as z from '../platform/zod.ts';
import { channelSchema } from './recipient.ts';
import { stepSchema } from './step.ts';

export const QUEUE_BODY_VERSION = 1;

const queuedStepSchema = z.extend(stepSchema, {
  v: z.literal(QUEUE_BODY_VERSION),
  /** Absent on bodies written before channels existed: Messenger. */
  channel: z.optional(channelSchema),
  /** The account the user talks to (Page, Instagram account or WhatsApp phone-number id): whose token sends. */
  pageId: z.string().check(z.minLength(1), z.maxLength(64)),
  /**
   * The recipient's user key: PSID, IGSID, or WhatsApp BSUID / phone number (a BSUID is up to 134
   * characters: lib/meta/whatsapp/user-id.ts).
   */
  psid: z.string().check(z.minLength(1), z.maxLength(160)),
  /**
   * The inbound message this sequence answers. WhatsApp's read + typing call names it (Cloud API, Typing
   * indicators: message_id is required); other channels do not need it.
   */
  inboundMid: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
  /** Stable id of the sequence (the inbound mid, or a caller-supplied/generated id). */
  sequenceId: z.string().check(z.minLength(1), z.maxLength(200)),
  index: z.number().check(z.int(), z.minimum(0)),
  count: z.number().check(z.int(), z.minimum(1)),
  /**
   * Re-enqueued by a rerun of the same turn under the same ids (lib/responder/turn-runner.ts turnSequenceId):
   * the sender checks its sent-step record even on the step's first receive.
   */
  replayed: z.optional(z.literal(true)),
  /**
   * When the user message this sequence answers arrived (epoch ms); absent: plannedAt. A user hold drops
   * every step whose origin is not later than it (lib/platform/conversation-state.ts).
   */
  originAt: z.optional(z.number().check(z.int(), z.minimum(0))),
  /** When the sequence was planned (epoch ms); with the delays it gives each step's planned time. */
  plannedAt: z.number().check(z.int(), z.minimum(0)),
  /** Planned time of this step (epoch ms): plannedAt + the delays of steps 0..index. */
  dueAt: z.number().check(z.int(), z.minimum(0)),
});

export type QueuedStep = z.infer<typeof queuedStepSchema>;

const NON_ASCII = /[\u0080-\uffff]/g;

/** JSON with every non-ASCII UTF-16 unit escaped (see the module comment): the one body format of both queues. */
export const asciiJson = (value: unknown): string =>
  JSON.stringify(value).replace(NON_ASCII, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);

export const encodeStep = (step: QueuedStep): string => asciiJson(queuedStepSchema.parse(step));

type DecodeResult = { ok: true; step: QueuedStep } | { ok: false; reason: string };

/** A queue body against its schema, never throwing: the value, or why it is not one (field paths, no values). */
export const parseBody = <S extends z.ZodMiniType>(
  schema: S,
  body: string,
): { ok: true; value: z.infer<S> } | { ok: false; reason: string } => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const parsed = schema.safeParse(json);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reason: describeIssues(parsed.error.issues) };
};

/** Never throws: a body that does not decode is a poison message, reported with a reason. */
export const decodeStep = (body: string): DecodeResult => {
  const parsed = parseBody(queuedStepSchema, body);
  if (!parsed.ok) return parsed;
  if (parsed.value.index >= parsed.value.count) return { ok: false, reason: 'index must be below count' };
  return { ok: true, step: parsed.value };
};

/** SQS MessageGroupId: at most 128 characters (SQS API reference, SendMessage). */
const MAX_GROUP_ID = 128;

/**
 * FIFO MessageGroupId: one group per user per account, so people never block each other. Page, Instagram
 * and WhatsApp phone-number ids are distinct Meta object ids, so the channel need not be part of it. A user
 * key too long for the limit (a WhatsApp BSUID may have 128 alphanumerics) is replaced by 60 hex digits of its
 * SHA-256 (a 63-character account id + `:h_` + 60 = 126): still one stable group per user, and every per-user
 * record keyed on the group follows.
 */
export const groupIdOf = (pageId: string, psid: string): string => {
  const plain = `${pageId}:${psid}`;
  return plain.length <= MAX_GROUP_ID
    ? plain
    : `${pageId}:h_${createHash('sha256').update(psid).digest('hex').slice(0, 60)}`;
};
