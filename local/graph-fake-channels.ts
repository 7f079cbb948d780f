/**
 * The local Graph fake's per-channel strictness (local/graph-fake.ts asks this module once the token and
 * appsecret_proof checked out). Each account the fake serves has a channel; a request must be shaped the
 * way that channel's API wants it, or it gets the error Graph would answer:
 * - Messenger: POST /{PAGE_ID | me}/messages, the Send API body (checkSendBody in graph-fake.ts);
 * - Instagram: POST /me/messages with the Page token, the Send API body minus what Instagram lacks
 *   (reactions other than love, file attachments, phone/email chips);
 * - WhatsApp: POST /{PHONE_NUMBER_ID}/messages with a Cloud API body: the read (+ typing) call needs the
 *   `message_id` of a received message (Meta answers 400 without one), messages need `messaging_product`,
 *   `to` (a phone number) or `recipient` (a business-scoped user id; `to` wins when both are there), and a
 *   `type` with its object; interactive buttons/lists within Meta's limits.
 * Every accepted call is also recorded as the Messenger-equivalent action, so transcripts and the chat
 * view show all channels the same way.
 */
import { randomUUID } from 'node:crypto';
import { BSUID_PATTERN } from '../lib/meta/whatsapp/user-id.ts';
import { describeIssues } from '../lib/platform/issues.ts';
import * as z from '../lib/platform/zod.ts';
import type { Channel } from '../lib/queue/recipient.ts';
import type { Action } from '../lib/queue/step.ts';

/**
 * One account the fake serves: its id, channel and the token that may act for it. `instagramLogin`: an
 * Instagram account on "Instagram API with Instagram Login" (graph.instagram.com, an Instagram user token:
 * POST /me/messages or /{IG_ID}/messages, and no appsecret_proof — the fake has no Instagram app secret, so
 * any proof is refused as invalid, as graph.instagram.com would refuse one keyed with the Meta app secret).
 */
export type FakeAccount = { id: string; channel: Channel; accessToken: string; instagramLogin?: true };

/** A request the channel accepts (with its user and the equivalent action), or Graph's error answer. */
export type ChannelCheck =
  | { ok: true; psid: string; action: Action; answer: unknown }
  | { ok: false; psid: string; status: number; body: unknown };

export type MessengerCheck =
  | { ok: true; psid: string; action: Action }
  | { ok: false; psid: string; status: number; body: unknown };

const error100 = (psid: string, message: string): ChannelCheck => ({
  ok: false,
  psid,
  status: 400,
  body: {
    error: { message: `(#100) ${message}`, type: 'OAuthException', code: 100, fbtrace_id: 'LocalFake' },
  },
});

const sendApiAnswer = (psid: string, action: Action) =>
  'message' in action ? { recipient_id: psid, message_id: `m_${randomUUID()}` } : { recipient_id: psid };

/** Messenger and Instagram: the Send API body; Instagram also refuses what it cannot show. */
const checkSendApi = (account: FakeAccount, node: string, checked: MessengerCheck): ChannelCheck => {
  if (!checked.ok) return checked;
  const { psid, action } = checked;
  if (account.channel === 'instagram') {
    if (node !== 'me' && !(account.instagramLogin && node === account.id))
      return error100(psid, 'Instagram messages are sent to /me/messages with the Page token');
    const problem = instagramProblem(action);
    if (problem) return error100(psid, problem);
  } else if (node !== 'me' && node !== account.id) {
    return error100(psid, `Page ${node} is not the Page of this access token`);
  }
  return { ok: true, psid, action, answer: sendApiAnswer(psid, action) };
};

const instagramProblem = (action: Action): string | undefined => {
  if ('message' in action) {
    if (action.message.attachment?.type === 'file') return 'Instagram does not support file attachments';
    if (action.message.quick_replies?.some((q) => q.content_type !== 'text'))
      return 'Instagram quick replies must be text';
    if (action.message.metadata !== undefined) return 'Param metadata is not supported on Instagram';
    return undefined;
  }
  if (action.sender_action === 'react' && action.payload.reaction !== 'love')
    return 'Instagram only supports the love reaction';
  return undefined;
};

const envelope = {
  messaging_product: z.literal('whatsapp'),
  recipient_type: z.optional(z.literal('individual')),
  to: z.optional(z.string().check(z.minLength(1))),
  recipient: z.optional(
    z.string().check(z.regex(BSUID_PATTERN, 'recipient must be a business-scoped user id')),
  ),
  context: z.optional(z.strictObject({ message_id: z.string().check(z.minLength(1)) })),
};
const mediaObject = z.strictObject({ link: z.url(), caption: z.optional(z.string()) });
const button = z.strictObject({
  type: z.literal('reply'),
  reply: z.strictObject({
    id: z.string().check(z.minLength(1), z.maxLength(256)),
    title: z.string().check(z.minLength(1), z.maxLength(20)),
  }),
});
const row = z.strictObject({
  id: z.string().check(z.minLength(1), z.maxLength(200)),
  title: z.string().check(z.minLength(1), z.maxLength(24)),
  description: z.optional(z.string().check(z.maxLength(72))),
});
const interactive = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('button'),
    body: z.strictObject({ text: z.string().check(z.minLength(1), z.maxLength(1024)) }),
    action: z.strictObject({ buttons: z.array(button).check(z.minLength(1), z.maxLength(3)) }),
  }),
  z.strictObject({
    type: z.literal('list'),
    body: z.strictObject({ text: z.string().check(z.minLength(1), z.maxLength(1024)) }),
    action: z.strictObject({
      button: z.string().check(z.minLength(1), z.maxLength(20)),
      sections: z
        .array(
          z.strictObject({
            title: z.optional(z.string().check(z.maxLength(24))),
            rows: z.array(row).check(z.minLength(1), z.maxLength(10)),
          }),
        )
        .check(z.minLength(1), z.maxLength(10)),
    }),
  }),
]);

/** WhatsApp Cloud API message bodies (Meta, Cloud API → Messages reference). */
const whatsappMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...envelope,
    type: z.literal('text'),
    text: z.strictObject({
      body: z.string().check(z.minLength(1), z.maxLength(4096)),
      preview_url: z.optional(z.boolean()),
    }),
  }),
  z.strictObject({ ...envelope, type: z.literal('image'), image: mediaObject }),
  z.strictObject({ ...envelope, type: z.literal('audio'), audio: mediaObject }),
  z.strictObject({ ...envelope, type: z.literal('video'), video: mediaObject }),
  z.strictObject({ ...envelope, type: z.literal('document'), document: mediaObject }),
  z.strictObject({ ...envelope, type: z.literal('interactive'), interactive }),
  z.strictObject({
    ...envelope,
    type: z.literal('reaction'),
    reaction: z.strictObject({ message_id: z.string().check(z.minLength(1)), emoji: z.string() }),
  }),
]);
type WhatsAppMessage = z.infer<typeof whatsappMessageSchema>;

/** Mark read, optionally with the typing indicator (Cloud API → Typing indicators): message_id required. */
const whatsappReadSchema = z.strictObject({
  messaging_product: z.literal('whatsapp'),
  status: z.literal('read'),
  message_id: z.string().check(z.minLength(1)),
  typing_indicator: z.optional(z.strictObject({ type: z.literal('text') })),
});

/** The Messenger action a user would see for a WhatsApp message (for transcripts and the chat view). */
const equivalentAction = (m: WhatsAppMessage): Action => {
  switch (m.type) {
    case 'text':
      return { message: { text: m.text.body } };
    case 'interactive': {
      const choices =
        m.interactive.type === 'button'
          ? m.interactive.action.buttons.map((b) => ({ title: b.reply.title, payload: b.reply.id }))
          : m.interactive.action.sections.flatMap((s) =>
              s.rows.map((r) => ({ title: r.title.slice(0, 20), payload: r.id })),
            );
      const quick_replies = choices.slice(0, 13).map((c) => ({ content_type: 'text' as const, ...c }));
      return { message: { text: m.interactive.body.text, quick_replies } };
    }
    case 'reaction':
      return m.reaction.emoji === ''
        ? { sender_action: 'unreact', payload: { message_id: m.reaction.message_id } }
        : {
            sender_action: 'react',
            payload: { message_id: m.reaction.message_id, reaction: m.reaction.emoji },
          };
    case 'image':
      return { message: { attachment: { type: 'image', payload: { url: m.image.link } } } };
    case 'audio':
      return { message: { attachment: { type: 'audio', payload: { url: m.audio.link } } } };
    case 'video':
      return { message: { attachment: { type: 'video', payload: { url: m.video.link } } } };
    case 'document':
      return { message: { attachment: { type: 'file', payload: { url: m.document.link } } } };
  }
};

/**
 * WhatsApp: node = the phone-number id; read/typing must name a message the number received (`inbound`
 * knows which user sent it), messages are Cloud API bodies.
 */
const checkWhatsApp = (
  account: FakeAccount,
  node: string,
  body: unknown,
  inbound: ReadonlyMap<string, string>,
): ChannelCheck => {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const addressed = [b.to, b.recipient].find((v): v is string => typeof v === 'string');
  const psid = addressed ?? inbound.get(String(b.message_id)) ?? '';
  if (node !== account.id)
    return error100(psid, `Phone number ${node} is not the number of this access token`);
  if ('status' in b) {
    if (b.message_id === undefined) return error100(psid, 'The parameter message_id is required.');
    const read = whatsappReadSchema.safeParse(body);
    if (!read.success) return error100(psid, `Invalid parameter: ${describeIssues(read.error.issues)}`);
    if (!inbound.has(read.data.message_id))
      return error100(psid, 'Invalid parameter: message_id is not a received message');
    const action: Action = { sender_action: read.data.typing_indicator ? 'typing_on' : 'mark_seen' };
    return { ok: true, psid, action, answer: { success: true } };
  }
  const message = whatsappMessageSchema.safeParse(body);
  if (!message.success) return error100(psid, `Invalid parameter: ${describeIssues(message.error.issues)}`);
  const { to, recipient } = message.data;
  // Meta's answer to a body with neither (what the local stack used to get): "(#100) The parameter recipient is required."
  const user = to ?? recipient;
  if (user === undefined) return error100(psid, 'The parameter recipient is required.');
  const answer = {
    messaging_product: 'whatsapp',
    // Cloud API → Messages: wa_id for a phone-number send, user_id for a BSUID send.
    contacts: [to !== undefined ? { input: to, wa_id: to } : { input: user, user_id: user }],
    messages: [{ id: `wamid.${randomUUID()}` }],
  };
  return { ok: true, psid: user, action: equivalentAction(message.data), answer };
};

/** The channel's verdict on a request whose token belongs to `account`. */
export const checkChannelRequest = (
  account: FakeAccount,
  node: string,
  body: unknown,
  messenger: (body: unknown) => MessengerCheck,
  inbound: ReadonlyMap<string, string>,
): ChannelCheck =>
  account.channel === 'whatsapp'
    ? checkWhatsApp(account, node, body, inbound)
    : checkSendApi(account, node, messenger(body));
