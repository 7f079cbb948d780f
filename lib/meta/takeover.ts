/**
 * Takeover signals: what a webhook body says about WHO holds a conversation, apart from what the bot should
 * answer (lib/meta/inbound.ts). A person replying from the Page inbox, Business Suite or a phone app (their
 * echoes), the WhatsApp Business app (coexistence echoes), and Conversation Routing moving a thread away
 * from this app or back (handover webhooks, standby) — one parser per channel, chosen by the body's `object`.
 * Never throws: an item of another shape is no signal. docs/takeover.md says what each channel can detect.
 */
import { isRecord } from '../platform/records.ts';
import type { Channel } from '../queue/recipient.ts';
import { messagingTakeovers } from './messenger/takeover.ts';
import { whatsappTakeovers } from './whatsapp/takeover.ts';

export type TakeoverKind =
  /** A person wrote to the user (an echo not sent by this app). */
  | 'person'
  /** Another app owns the thread now (Conversation Routing / Handover Protocol). */
  | 'routing_lost'
  /** The thread is this app's again. */
  | 'routing_returned';

export type TakeoverSignal = {
  kind: TakeoverKind;
  channel: Channel;
  pageId: string;
  psid: string;
  /** When it happened (the body's time, else when it was received), epoch ms. */
  at: number;
  /** What the person wrote, kept as context for the LLM responder's memory. */
  text?: string;
  /** The person's message id (mid, wamid), when the body names it. */
  mid?: string;
};

export type TakeoverOptions = {
  /** META_APP_ID: echoes carrying it are the bot's own. Undefined: every echo is a person. */
  appId: string | undefined;
  receivedAt: number;
};

type EntryParser = (entry: Record<string, unknown>, options: TakeoverOptions) => TakeoverSignal[];

const PARSERS: Record<string, EntryParser> = {
  page: (entry, options) => messagingTakeovers('messenger', entry, options),
  instagram: (entry, options) => messagingTakeovers('instagram', entry, options),
  whatsapp_business_account: whatsappTakeovers,
};

/** Every takeover signal of a decoded webhook body, in body order. */
export const takeoverSignals = (json: unknown, options: TakeoverOptions): TakeoverSignal[] => {
  if (!isRecord(json) || typeof json.object !== 'string' || !Array.isArray(json.entry)) return [];
  const parse = PARSERS[json.object];
  if (parse === undefined) return [];
  return json.entry.flatMap((entry) => {
    if (!isRecord(entry)) return [];
    try {
      return parse(entry, options);
    } catch {
      return [];
    }
  });
};
