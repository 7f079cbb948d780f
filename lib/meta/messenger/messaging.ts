/**
 * The Messenger Platform's `entry[].messaging[]` items → InboundEvents, one parser per event kind.
 *
 * Lenient on the envelope (extra keys, missing `time`, `standby[]`/`changes[]` next to `messaging[]`), strict
 * on what we use (ids, text, payloads): an item whose used fields have the wrong shape is skipped and counted
 * with a reason from a closed set (safe as a metric dimension). Rules for shapes seen in the wild (corpus):
 * - echoes (`message.is_echo`) and any item whose sender is the page itself are never answered (reply loop);
 * - `standby[]` items belong to another app that owns the thread (Meta, Handover Protocol): never answered;
 * - `changes[]` (the dashboard "Test" button) is not a messaging event;
 * - a sender must be an object with `id` or `user_ref`; a bare string/number sender is malformed;
 *   a `user_ref` sender (chat plugin guest) becomes psid `user_ref:<ref>` (see lib/queue/inbound.ts);
 * - timestamps may be numbers, numeric strings, floats, or seconds (fields.ts);
 * - read, delivery, edits, handover, payments, games, account linking, app_roles, policy enforcement:
 *   counted, never answered; unknown event keys are counted as `unknown_event`, not errors.
 */
import { isRecord } from '../../platform/records.ts';
import * as z from '../../platform/zod.ts';
import type { InboundEvent } from '../../queue/inbound.ts';
import { type Channel, USER_REF_PREFIX } from '../../queue/recipient.ts';
import {
  eventIdFromMid,
  hashedEventId,
  ID_PATTERN,
  idSchema,
  optionalText,
  timestampSchema,
} from '../fields.ts';
import type { ChannelParser, ItemResult } from '../inbound-channel.ts';

const attachmentFields = z.looseObject({
  type: z.string().check(z.minLength(1)),
  payload: z.nullish(z.looseObject({ url: z.optional(z.unknown()), sticker_id: z.optional(z.unknown()) })),
  url: z.optional(z.unknown()),
  URL: z.optional(z.unknown()),
});

/**
 * A sticker is a `sticker` whatever shape it came in (Messenger changelog, 2026-06-01): until 2026-08-30 an
 * `image` attachment with `payload.sticker_id` AND a `sticker` attachment, since then the `sticker` one only,
 * before June the image alone. Rules and responders see one `sticker` either way, so a rule's behaviour did
 * not change on the day Meta dropped the image.
 */
const typeOf = (a: z.infer<typeof attachmentFields>): string =>
  a.payload?.sticker_id !== undefined && a.payload.sticker_id !== null ? 'sticker' : a.type;

const attachmentSchema = z.pipe(
  attachmentFields,
  z.transform((a: z.infer<typeof attachmentFields>) => {
    // Classic attachments carry payload.url; pre-v6 fallback shares carry url/URL at the attachment level.
    const url = [a.payload?.url, a.url, a.URL].find((u): u is string => typeof u === 'string' && u !== '');
    const sticker =
      a.type === 'sticker' || typeOf(a) === 'sticker' ? { stickerId: a.payload?.sticker_id } : {};
    return { type: typeOf(a), ...(url !== undefined && { url }), ...sticker };
  }),
);

const messageSchema = z.looseObject({
  mid: optionalText,
  text: optionalText,
  quick_reply: z.nullish(z.looseObject({ payload: optionalText })),
  attachments: z.nullish(z.array(z.unknown())),
  reply_to: z.nullish(z.looseObject({ mid: optionalText })),
});

const referralSchema = z.looseObject({ ref: optionalText, source: optionalText, type: optionalText });

const postbackSchema = z.looseObject({
  mid: optionalText,
  title: optionalText,
  payload: optionalText,
  referral: z.nullish(referralSchema),
});

const reactionSchema = z.looseObject({
  action: z.enum(['react', 'unreact']),
  reaction: optionalText,
  emoji: optionalText,
  mid: optionalText,
});

const optinSchema = z.looseObject({ ref: optionalText, type: optionalText });

/** Events Meta sends that never get an answer; counted under their own name. */
const NO_REPLY_EVENTS = {
  read: 'read',
  delivery: 'delivery',
  message_edit: 'message_edit',
  account_linking: 'account_linking',
  pass_thread_control: 'handover',
  take_thread_control: 'handover',
  request_thread_control: 'handover',
  app_roles: 'app_roles',
  'policy-enforcement': 'policy_enforcement',
  policy_enforcement: 'policy_enforcement',
  game_play: 'game_play',
  payment: 'payment',
  checkout_update: 'payment',
  pre_checkout: 'payment',
  branded_camera: 'branded_camera',
  messaging_feedback: 'feedback',
} as const;

/** What every event of an item shares, once sender, page and time are known. */
type ItemContext = {
  pageId: string;
  psid: string;
  /** The body's own time of the event (item, else entry), null when it has none: hashed ids use only this. */
  bodyTime: number | null;
  base: Pick<InboundEvent, 'channel' | 'pageId' | 'psid' | 'timestamp' | 'attachments'>;
};

type KindParser = (raw: unknown, ctx: ItemContext) => ItemResult;

/** Keeps only the ref/source/type strings that are present (the rest of a referral is not used). */
const compact = (o: { ref?: string; source?: string; type?: string }) => ({
  ...(o.ref !== undefined && { ref: o.ref }),
  ...(o.source !== undefined && { source: o.source }),
  ...(o.type !== undefined && { type: o.type }),
});

/**
 * Attachments we can read; one of an unknown shape is dropped, not the message. During Meta's sticker
 * transition one sticker arrives twice (image + sticker, same sticker_id): it is kept once.
 */
const attachmentsOf = (raw: readonly unknown[] | null | undefined): InboundEvent['attachments'] => {
  const stickers = new Set<unknown>();
  return (raw ?? []).flatMap((a) => {
    const parsed = attachmentSchema.safeParse(a);
    if (!parsed.success) return [];
    const { stickerId, ...attachment } = parsed.data as typeof parsed.data & { stickerId?: unknown };
    if (attachment.type === 'sticker' && stickerId !== undefined) {
      const key = String(stickerId);
      if (stickers.has(key)) return [];
      stickers.add(key);
    }
    return [attachment];
  });
};

const parseMessage: KindParser = (raw, { pageId, psid, bodyTime, base }) => {
  const m = messageSchema.safeParse(raw);
  if (!m.success) return { ignored: 'malformed_message' };
  const attachments = attachmentsOf(m.data.attachments);
  const text = m.data.text === '' ? undefined : m.data.text;
  const quickReplyPayload = m.data.quick_reply?.payload;
  if (text === undefined && quickReplyPayload === undefined && attachments.length === 0) {
    return { ignored: 'empty_message' };
  }
  const mid = m.data.mid === '' ? undefined : m.data.mid;
  const eventId =
    mid !== undefined
      ? eventIdFromMid(mid)
      : hashedEventId([
          pageId,
          psid,
          bodyTime,
          'message',
          text ?? null,
          quickReplyPayload ?? null,
          attachments,
        ]);
  return {
    event: {
      ...base,
      kind: 'message',
      eventId,
      attachments,
      ...(mid !== undefined && { mid }),
      ...(text !== undefined && { text }),
      ...(quickReplyPayload !== undefined && { quickReplyPayload }),
      ...(m.data.reply_to?.mid && { replyToMid: m.data.reply_to.mid }),
    },
  };
};

const parsePostback: KindParser = (raw, { pageId, psid, bodyTime, base }) => {
  const p = postbackSchema.safeParse(raw);
  if (!p.success) return { ignored: 'malformed_postback' };
  const { mid, title, payload, referral } = p.data;
  const eventId = mid
    ? eventIdFromMid(mid)
    : hashedEventId([pageId, psid, bodyTime, 'postback', title, payload]);
  return {
    event: {
      ...base,
      kind: 'postback',
      eventId,
      ...(mid && { mid }),
      postback: { ...(title !== undefined && { title }), ...(payload !== undefined && { payload }) },
      ...(referral && { referral: compact(referral) }),
    },
  };
};

const parseReaction: KindParser = (raw, { pageId, psid, bodyTime, base }) => {
  const r = reactionSchema.safeParse(raw);
  if (!r.success) return { ignored: 'malformed_reaction' };
  const { action, reaction, emoji, mid } = r.data;
  // Never the mid: it names the reacted-to message, whose own sequence already uses it as its id.
  const eventId = hashedEventId([pageId, psid, bodyTime, 'reaction', action, reaction, emoji, mid]);
  return {
    event: {
      ...base,
      kind: 'reaction',
      eventId,
      ...(mid && { mid }),
      reaction: {
        action,
        ...(reaction !== undefined && { reaction }),
        ...(emoji !== undefined && { emoji }),
      },
    },
  };
};

const parseOptin: KindParser = (raw, { pageId, psid, bodyTime, base }) => {
  const o = optinSchema.safeParse(raw);
  if (!o.success) return { ignored: 'malformed_optin' };
  const optin = compact({ ref: o.data.ref, type: o.data.type });
  const eventId = hashedEventId([pageId, psid, bodyTime, 'optin', optin]);
  return { event: { ...base, kind: 'optin', eventId, optin } };
};

const parseReferral: KindParser = (raw, { pageId, psid, bodyTime, base }) => {
  const r = referralSchema.safeParse(raw);
  if (!r.success) return { ignored: 'malformed_referral' };
  const referral = compact(r.data);
  const eventId = hashedEventId([pageId, psid, bodyTime, 'referral', referral]);
  return { event: { ...base, kind: 'referral', eventId, referral } };
};

/**
 * One parser per answerable event key. An item carries one event key (Meta, Webhook events reference);
 * should it carry several, the first of this order decides, as it always has.
 */
const KIND_PARSERS = {
  message: parseMessage,
  postback: parsePostback,
  reaction: parseReaction,
  optin: parseOptin,
  referral: parseReferral,
} satisfies Record<InboundEvent['kind'], KindParser>;

const KINDS = Object.keys(KIND_PARSERS) as (keyof typeof KIND_PARSERS)[];

/** The reason an item without an answerable event key is skipped. */
const noReplyReason = (item: Record<string, unknown>): string => {
  const known = Object.keys(item).find((k): k is keyof typeof NO_REPLY_EVENTS => k in NO_REPLY_EVENTS);
  return known === undefined ? 'unknown_event' : NO_REPLY_EVENTS[known];
};

/** Messages that exist but must not be answered, decided before the sender is even looked at. */
const unanswerableMessage = (message: unknown): string | undefined => {
  if (!isRecord(message)) return undefined;
  // Meta, Webhook events "message_echoes": our own outgoing messages come back; answering them loops.
  if (message.is_echo === true) return 'echo';
  if (message.is_deleted === true) return 'message_deleted';
  return undefined;
};

const senderOf = (item: Record<string, unknown>): { psid: string } | { ignored: string } => {
  const sender = item.sender;
  if (sender === undefined || sender === null) return { ignored: 'no_sender' };
  if (!isRecord(sender)) return { ignored: 'malformed_sender' };
  if (sender.id !== undefined) {
    const id = idSchema.safeParse(sender.id);
    return id.success ? { psid: id.data } : { ignored: 'malformed_sender' };
  }
  const ref = z.string().safeParse(sender.user_ref);
  const psid = ref.success ? `${USER_REF_PREFIX}${ref.data}` : '';
  return ref.success && ID_PATTERN.test(psid) ? { psid } : { ignored: 'malformed_sender' };
};

/** Sender and page of an item: the page is recipient.id, else entry.id; the page never answers itself. */
const participantsOf = (
  item: Record<string, unknown>,
  entry: Record<string, unknown>,
): { psid: string; pageId: string } | { ignored: string } => {
  const sender = senderOf(item);
  if ('ignored' in sender) return sender;
  const entryId = idSchema.safeParse(entry.id);
  const recipient = isRecord(item.recipient) ? idSchema.safeParse(item.recipient.id) : undefined;
  const pageId = recipient?.success ? recipient.data : entryId.success ? entryId.data : undefined;
  if (pageId === undefined) return { ignored: 'malformed_recipient' };
  // Loop guard: the page talking to itself (or a test body with sender = recipient) is never answered.
  if (sender.psid === pageId || (entryId.success && sender.psid === entryId.data)) {
    return { ignored: 'sender_is_page' };
  }
  return { psid: sender.psid, pageId };
};

const contextOf = (
  channel: Channel,
  who: { psid: string; pageId: string },
  item: Record<string, unknown>,
  entry: Record<string, unknown>,
  receivedAt: number,
): ItemContext => {
  const itemTime = timestampSchema.safeParse(item.timestamp);
  const entryTime = timestampSchema.safeParse(entry.time);
  // The hashed id uses only body values, so a re-delivery hashes the same even without any timestamp.
  const bodyTime = itemTime.success ? itemTime.data : entryTime.success ? entryTime.data : null;
  const base = {
    channel,
    pageId: who.pageId,
    psid: who.psid,
    timestamp: bodyTime ?? receivedAt,
    attachments: [],
  };
  return { ...who, bodyTime, base };
};

export const parseMessagingItem = (
  channel: Channel,
  item: unknown,
  entry: Record<string, unknown>,
  receivedAt: number,
): ItemResult => {
  if (!isRecord(item)) return { ignored: 'malformed_item' };
  const kind = KINDS.find((k) => item[k] !== undefined);
  if (kind === undefined) return { ignored: noReplyReason(item) };
  const unanswerable = kind === 'message' ? unanswerableMessage(item.message) : undefined;
  if (unanswerable !== undefined) return { ignored: unanswerable };
  const who = participantsOf(item, entry);
  if ('ignored' in who) return who;
  return KIND_PARSERS[kind](item[kind], contextOf(channel, who, item, entry, receivedAt));
};

/**
 * The entry parser of a Messenger Platform channel (Messenger, Instagram): `messaging[]` answered,
 * `standby[]` and `changes[]` counted.
 */
export const messagingEntryParser =
  (channel: Channel): ChannelParser['parseEntry'] =>
  (entry, receivedAt, sink) => {
    if (Array.isArray(entry.standby)) sink.skip('standby', entry.standby.length);
    if (Array.isArray(entry.changes)) sink.skip('changes', entry.changes.length);
    if (entry.messaging === undefined) return;
    if (!Array.isArray(entry.messaging)) {
      sink.skip('malformed_entry');
      return;
    }
    for (const item of entry.messaging) sink.item(() => parseMessagingItem(channel, item, entry, receivedAt));
  };
