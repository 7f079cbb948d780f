/**
 * The variables of a person in the conversation (docs/takeover.md), shared by the functions that read them:
 * which echoes are the bot's own, how long the bot steps aside when a person answers, and the disclosure
 * that an automated chat must show where law requires it (Meta, Send Messages, May 2026).
 */
import { described, whole } from './config.ts';
import * as z from './zod.ts';

export const takeoverSchema = z.object({
  META_APP_ID: described(
    "This app's id: an echo carrying it is the bot's own; any other echo is a person (unset: every echo is a person).",
    z.optional(z.string().check(z.regex(/^\d{1,32}$/, 'must be the numeric app id'))),
  ),
  // ~15 minutes is what a Messenger team member proposed for pausing automation on a human reply
  // (fbsamples/original-coast-clothing #87); each further message by the person restarts it.
  HUMAN_TAKEOVER_PAUSE_SECONDS: described(
    'How long the bot stays silent for a user after a person answers them (s); each further message by a person extends it.',
    whole(1, 900),
  ),
});

export const disclosureSchema = z.object({
  BOT_DISCLOSURE_TEXT: described(
    "Sent as its own bubble before the bot's first message of a conversation, after a lapse, and after a person hands the chat back (unset: off).",
    z.optional(z.string().check(z.minLength(1), z.maxLength(2000))),
  ),
  // A day of quiet: past Messenger's 24-hour standard messaging window the next exchange is a new conversation.
  BOT_DISCLOSURE_AFTER_SECONDS: described(
    'Quiet after which the next bot message is preceded by the disclosure again (s).',
    whole(60, 86_400),
  ),
});
