/**
 * Who a WhatsApp user is, since usernames (Meta, WhatsApp → Business-scoped user IDs, updated 2026): every
 * messages webhook since April 2026 carries a business-scoped user id (BSUID, `from_user_id` on the message,
 * `user_id` in `contacts[]`), and the phone number (`from`, `wa_id`) only while Meta may share it — a user
 * who adopted a username and has no recent interaction arrives with the BSUID alone.
 *
 * The user key (the event's `psid`: FIFO group, dedup scope, per-user records, metric label) is the BSUID
 * whenever the webhook carries one, the phone number only when it does not (bodies from before the
 * rollout). The BSUID is present in every webhook of a user whether or not a phone accompanies it, so the
 * key does not move when the phone disappears (username adopted) or reappears (contact book): see
 * docs/channels.md, "WhatsApp user key", for the one transition that does move it.
 *
 * Sending: Cloud API → Messages takes a BSUID in `recipient` and a phone number in `to` (`to` wins when both
 * are present). A key containing a period is a BSUID (`US.13491208655302741918`); a phone number never has one.
 */
import * as z from '../../platform/zod.ts';

/**
 * ISO country code, a period, up to 128 alphanumerics; a parent BSUID has `ENT.` between them
 * (`US.ENT.11815799212886844830`). Meta documents the format; we accept exactly that.
 */
export const BSUID_PATTERN = /^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$/;

export const bsuidSchema = z
  .string()
  .check(z.regex(BSUID_PATTERN, 'business-scoped user id must be CC.<alphanumerics>'));

export const isBsuid = (userKey: string): boolean => userKey.includes('.');

/** The Cloud API addressing fields for a user key: a BSUID in `recipient`, a phone number in `to`. */
export const whatsappAddressOf = (userKey: string): { recipient: string } | { to: string } =>
  isBsuid(userKey) ? { recipient: userKey } : { to: userKey };

type Identified = { key: string } | { problem: 'no_sender' | 'malformed_sender' };

/**
 * The user key of one message: its `from_user_id`, else the `user_id` of the `contacts[]` entry with its
 * phone number, else the phone number. A BSUID of the wrong shape makes the message malformed rather than
 * silently keyed by phone: the same person would otherwise get two keys.
 */
export const whatsappUserKey = (
  message: { from?: string; from_user_id?: unknown },
  contacts: readonly unknown[],
): Identified => {
  const raw = message.from_user_id ?? contactUserId(contacts, message.from);
  if (raw !== undefined) {
    const bsuid = bsuidSchema.safeParse(raw);
    return bsuid.success ? { key: bsuid.data } : { problem: 'malformed_sender' };
  }
  return message.from !== undefined ? { key: message.from } : { problem: 'no_sender' };
};

const contactSchema = z.looseObject({ wa_id: z.optional(z.unknown()), user_id: z.optional(z.unknown()) });

/** `contacts[].user_id` of the entry whose `wa_id` is this phone number (Meta pairs them per sender). */
const contactUserId = (contacts: readonly unknown[], phone: string | undefined): unknown => {
  if (phone === undefined) return undefined;
  for (const contact of contacts) {
    const parsed = contactSchema.safeParse(contact);
    if (parsed.success && parsed.data.wa_id === phone && parsed.data.user_id !== undefined)
      return parsed.data.user_id;
  }
  return undefined;
};
