/**
 * Who a step is for: the inbox (channel) and the Graph `recipient` of a user id. Apart from the inbound
 * event's schema (inbound.ts) so that the sender and the console, which never read an inbound event, do not
 * build that schema at cold start (~1.5 ms of their import, coldstart bench).
 */
import * as z from '../platform/zod.ts';

/** The Meta inboxes Ellipsis answers; each has its own webhook shape and Graph request shapes. */
export const CHANNELS = ['messenger', 'instagram', 'whatsapp'] as const;
export const channelSchema = z.enum(CHANNELS);
export type Channel = z.infer<typeof channelSchema>;

/**
 * Chat-plugin guests (and checkbox-plugin users) write with `sender.user_ref` instead of a PSID. The webhook
 * gives them psid `user_ref:<ref>`; Graph calls must then address `recipient: { user_ref }` instead of
 * `recipient: { id }` (Meta, Send API reference, "recipient"). PSIDs are digits, so the prefix cannot clash.
 */
export const USER_REF_PREFIX = 'user_ref:';

/** The Graph `recipient` object for a psid produced by the webhook. */
export const graphRecipientOf = (psid: string): { id: string } | { user_ref: string } =>
  psid.startsWith(USER_REF_PREFIX) ? { user_ref: psid.slice(USER_REF_PREFIX.length) } : { id: psid };
