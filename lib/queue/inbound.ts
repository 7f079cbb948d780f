/**
 * The normalised inbound event: what the webhook understood of one item of any channel, after the raw
 * Meta shapes (lib/meta/inbound.ts, lib/meta/) were validated. Responders and the planner see only this.
 */
import * as z from '../platform/zod.ts';
import { channelSchema } from './recipient.ts';

export const inboundEventSchema = z.object({
  /** Which inbox the user wrote to; a responder may answer each differently. */
  channel: z._default(channelSchema, 'messenger'),
  kind: z.enum(['message', 'postback', 'reaction', 'optin', 'referral']),
  /**
   * The account the user wrote to, whose token answers: the Facebook Page id (Messenger), the Instagram
   * professional account id (Instagram) or the WhatsApp business phone-number id (WhatsApp).
   */
  pageId: z.string().check(z.minLength(1)),
  /**
   * The user's key as that account sees them: PSID, IGSID, or on WhatsApp the business-scoped user id when
   * the webhook carries one, else the phone number (lib/meta/whatsapp/user-id.ts).
   */
  psid: z.string().check(z.minLength(1)),
  /** Event time in epoch ms (Meta sends ms; seconds and strings are normalised). */
  timestamp: z.number(),
  /**
   * Stable id for deduplication and jitter seeding: the message mid, or for events without one a hash of
   * (page, user, timestamp, kind, payload) — the same for every re-delivery of the same event.
   */
  eventId: z.string().check(z.minLength(1)),
  /** The inbound message id, when the event is or refers to a message (for reactions: the reacted message). */
  mid: z.optional(z.string()),
  text: z.optional(z.string()),
  quickReplyPayload: z.optional(z.string()),
  attachments: z._default(z.array(z.object({ type: z.string(), url: z.optional(z.string()) })), []),
  replyToMid: z.optional(z.string()),
  postback: z.optional(z.object({ title: z.optional(z.string()), payload: z.optional(z.string()) })),
  reaction: z.optional(
    z.object({
      action: z.enum(['react', 'unreact']),
      reaction: z.optional(z.string()),
      emoji: z.optional(z.string()),
    }),
  ),
  referral: z.optional(
    z.object({ ref: z.optional(z.string()), source: z.optional(z.string()), type: z.optional(z.string()) }),
  ),
  optin: z.optional(z.object({ ref: z.optional(z.string()), type: z.optional(z.string()) })),
});

export type InboundEvent = z.infer<typeof inboundEventSchema>;

/** Who a sequence answers: channel, account and user, and the inbound message its channel may name. */
export const sequenceTargetOf = (event: InboundEvent) => ({
  channel: event.channel,
  pageId: event.pageId,
  psid: event.psid,
  // A reaction's mid names the reacted-to message (ours), not one the user sent: nothing to mark read.
  ...(event.mid !== undefined && event.kind !== 'reaction' && { inboundMid: event.mid }),
});
