/**
 * WhatsApp Cloud API: `"object": "whatsapp_business_account"` webhooks (Meta, WhatsApp Cloud API →
 * Webhooks → messages). Shape: `entry[].changes[]` with `field: "messages"` and a `value` holding
 * `metadata.phone_number_id` (the account the user wrote to), `contacts[]`, `messages[]`, `statuses[]`.
 *
 * - `messages[]` are answered: text, interactive replies (button_reply / list_reply), template quick-reply
 *   buttons, media (image, audio, video, document, sticker, with a caption as text), location, contacts,
 *   reactions. The user's id is `from` (the wa_id, a phone number); the event id is the message's `id`
 *   (wamid), so a re-delivered message is deduplicated like a Messenger mid.
 * - `statuses[]` (sent / delivered / read / failed receipts of OUR messages) are never answered; failed
 *   ones are counted apart (`status_failed`): some errors, such as 131047 outside the 24-hour window,
 *   arrive only this way.
 * - group messages (`group_id`), senders known only by a business-scoped user id (`from_user_id`, no
 *   `from`), `system`, `unsupported` and unknown types are counted, not answered; other `changes[]`
 *   fields (account, template, quality updates) are not messaging events.
 */
import { isRecord } from '../../platform/records.ts';
import * as z from '../../platform/zod.ts';
import type { InboundEvent } from '../../queue/inbound.ts';
import { eventIdFromMid, idSchema, optionalText, timestampSchema } from '../fields.ts';
import type { ChannelParser, ItemResult } from '../inbound-channel.ts';

const replySchema = z.looseObject({ id: z.string().check(z.minLength(1)), title: optionalText });

const messageSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  from: z.optional(idSchema),
  timestamp: z.optional(z.unknown()),
  type: z.string().check(z.minLength(1)),
  context: z.nullish(z.looseObject({ id: optionalText })),
});

type WhatsAppMessage = z.infer<typeof messageSchema> & Record<string, unknown>;
type Content = Pick<InboundEvent, 'text' | 'quickReplyPayload' | 'attachments'> | { ignored: string };

const MEDIA_TYPES = new Set(['image', 'audio', 'video', 'document', 'sticker']);

const textOf = (m: WhatsAppMessage): Content => {
  const body = isRecord(m.text) ? optionalText.safeParse(m.text.body) : undefined;
  const text = body?.success ? body.data : undefined;
  return text ? { text, attachments: [] } : { ignored: 'empty_message' };
};

/** A tapped reply button or list row: its id is the payload we set, its title what the user saw. */
const interactiveOf = (m: WhatsAppMessage): Content => {
  if (!isRecord(m.interactive)) return { ignored: 'malformed_message' };
  const chosen = replySchema.safeParse(m.interactive.button_reply ?? m.interactive.list_reply);
  if (!chosen.success) return { ignored: 'unsupported_message' };
  const { id, title } = chosen.data;
  return { quickReplyPayload: id, ...(title && { text: title }), attachments: [] };
};

/** A template's quick-reply button: `button: {payload, text}`. */
const buttonOf = (m: WhatsAppMessage): Content => {
  const b = z
    .looseObject({ payload: z.string().check(z.minLength(1)), text: optionalText })
    .safeParse(m.button);
  if (!b.success) return { ignored: 'malformed_message' };
  return { quickReplyPayload: b.data.payload, ...(b.data.text && { text: b.data.text }), attachments: [] };
};

/** Media carry a media id, not a URL (it must be fetched with the token): the type is what we keep. */
const mediaOf = (m: WhatsAppMessage): Content => {
  const media = m[m.type];
  const caption =
    isRecord(media) && typeof media.caption === 'string' && media.caption !== '' ? media.caption : undefined;
  return { ...(caption && { text: caption }), attachments: [{ type: m.type }] };
};

const CONTENT_PARSERS: Record<string, (m: WhatsAppMessage) => Content> = {
  text: textOf,
  interactive: interactiveOf,
  button: buttonOf,
  location: () => ({ attachments: [{ type: 'location' }] }),
  contacts: () => ({ attachments: [{ type: 'contacts' }] }),
};

const contentOf = (m: WhatsAppMessage): Content => {
  if (MEDIA_TYPES.has(m.type)) return mediaOf(m);
  const parse = CONTENT_PARSERS[m.type];
  if (parse) return parse(m);
  return {
    ignored: m.type === 'system' || m.type === 'unsupported' ? `whatsapp_${m.type}` : 'unknown_event',
  };
};

/** A reaction to one of our messages: an empty emoji removes it (Cloud API, reaction messages). */
const reactionOf = (m: WhatsAppMessage, base: Base): ItemResult => {
  const r = z
    .looseObject({ message_id: z.string().check(z.minLength(1)), emoji: optionalText })
    .safeParse(m.reaction);
  if (!r.success) return { ignored: 'malformed_reaction' };
  const { message_id: mid, emoji } = r.data;
  const reaction = emoji ? { action: 'react' as const, emoji } : { action: 'unreact' as const };
  return { event: { ...base, kind: 'reaction', eventId: eventIdFromMid(m.id), mid, reaction } };
};

type Base = Pick<InboundEvent, 'channel' | 'pageId' | 'psid' | 'timestamp' | 'attachments'>;

const senderProblem = (m: WhatsAppMessage): string | undefined => {
  if (m.group_id !== undefined) return 'group_message';
  if (m.from !== undefined) return undefined;
  return m.from_user_id !== undefined ? 'unsupported_sender' : 'no_sender';
};

export const parseWhatsAppMessage = (raw: unknown, phoneNumberId: string, receivedAt: number): ItemResult => {
  const parsed = messageSchema.safeParse(raw);
  if (!parsed.success)
    return isRecord(raw) ? { ignored: 'malformed_message' } : { ignored: 'malformed_item' };
  const m = parsed.data as WhatsAppMessage;
  const problem = senderProblem(m);
  // Stryker disable next-line ConditionalExpression: equivalent: senderProblem already names a missing `from`; the test narrows the type
  if (problem !== undefined || m.from === undefined) return { ignored: problem ?? 'no_sender' };
  const time = timestampSchema.safeParse(m.timestamp);
  const base: Base = {
    channel: 'whatsapp',
    pageId: phoneNumberId,
    psid: m.from,
    timestamp: time.success ? time.data : receivedAt,
    attachments: [],
  };
  if (m.type === 'reaction') return reactionOf(m, base);
  const content = contentOf(m);
  if ('ignored' in content) return content;
  const replyToMid = m.context?.id;
  const mid = m.id;
  return {
    event: {
      ...base,
      ...content,
      kind: 'message',
      eventId: eventIdFromMid(mid),
      mid,
      ...(replyToMid && { replyToMid }),
    },
  };
};

/** Receipts of our own messages: never answered; failed ones counted apart (async errors land here). */
const countStatuses = (statuses: unknown, skip: (reason: string) => void): void => {
  for (const status of Array.isArray(statuses) ? statuses : []) {
    skip(isRecord(status) && status.status === 'failed' ? 'status_failed' : 'status');
  }
};

const parseChange: ChannelParser['parseEntry'] = (change, receivedAt, sink) => {
  const value = change.value;
  if (change.field !== 'messages' || !isRecord(value)) {
    sink.skip('changes');
    return;
  }
  countStatuses(value.statuses, (reason) => sink.skip(reason));
  if (Array.isArray(value.errors)) sink.skip('whatsapp_error', value.errors.length);
  if (value.messages === undefined) return;
  const phoneNumberId = isRecord(value.metadata)
    ? idSchema.safeParse(value.metadata.phone_number_id)
    : undefined;
  if (!Array.isArray(value.messages) || !phoneNumberId?.success) {
    sink.skip(Array.isArray(value.messages) ? 'malformed_recipient' : 'malformed_entry');
    return;
  }
  for (const message of value.messages) {
    sink.item(() => parseWhatsAppMessage(message, phoneNumberId.data, receivedAt));
  }
};

export const whatsapp: ChannelParser = {
  object: 'whatsapp_business_account',
  parseEntry: (entry, receivedAt, sink) => {
    if (entry.changes === undefined) return;
    if (!Array.isArray(entry.changes)) {
      sink.skip('malformed_entry');
      return;
    }
    for (const change of entry.changes) {
      if (isRecord(change)) parseChange(change, receivedAt, sink);
      else sink.skip('malformed_entry');
    }
  },
};
