/**
 * Takeover signals of the Messenger Platform shape (Messenger and Instagram, lib/meta/takeover.ts):
 * - an echo (`message.is_echo`, Meta, Webhook events "message_echoes") whose `app_id` is not this app's is a
 *   person: the Page inbox, Business Suite and the phone apps send with their own app ids, or none;
 * - `pass_thread_control` (sent to the app the thread is passed to) and `take_thread_control` (sent to the
 *   app it is taken from) move the thread (Meta, messaging_handovers webhook reference); the new owner's app
 *   id decides when it is known;
 * - a `standby[]` item is delivered only to apps that do not own the thread (Meta, Handover Protocol): this
 *   app is not the owner.
 * The user is whichever participant is not the account (an echo's sender is the Page, a handover's either).
 */
import { isRecord } from '../../platform/records.ts';
import type { Channel } from '../../queue/recipient.ts';
import { idSchema, optionalText, timestampSchema } from '../fields.ts';
import type { TakeoverOptions, TakeoverSignal } from '../takeover.ts';

type Where = { channel: Channel; pageId: string; psid: string; at: number };

const idOf = (value: unknown): string | undefined => {
  const id = isRecord(value) ? idSchema.safeParse(value.id) : undefined;
  return id?.success ? id.data : undefined;
};

/** The account (entry id, else recipient) and the user (the other participant); undefined if unclear. */
const whereOf = (
  channel: Channel,
  item: Record<string, unknown>,
  entry: Record<string, unknown>,
  receivedAt: number,
): Where | undefined => {
  const entryId = idSchema.safeParse(entry.id);
  const sender = idOf(item.sender);
  const recipient = idOf(item.recipient);
  const pageId = entryId.success ? entryId.data : recipient;
  const psid = sender === pageId ? recipient : sender;
  if (pageId === undefined || psid === undefined || psid === pageId) return undefined;
  const time = timestampSchema.safeParse(item.timestamp);
  return { channel, pageId, psid, at: time.success ? time.data : receivedAt };
};

/** An app id as text (Meta sends numbers or strings), undefined when absent or null. */
const appIdOf = (value: unknown): string | undefined =>
  typeof value === 'number' || (typeof value === 'string' && value !== '') ? String(value) : undefined;

const echoSignal = (where: Where, message: Record<string, unknown>, options: TakeoverOptions) => {
  const appId = appIdOf(message.app_id);
  if (options.appId !== undefined && appId === options.appId) return [];
  const text = optionalText.safeParse(message.text);
  const mid = optionalText.safeParse(message.mid);
  const signal: TakeoverSignal = {
    kind: 'person',
    ...where,
    ...(text.success && text.data && { text: text.data }),
    ...(mid.success && mid.data && { mid: mid.data }),
  };
  return [signal];
};

/** pass: this app receives it when the thread is passed TO it; take: when it is taken FROM it. */
const handoverSignal = (where: Where, item: Record<string, unknown>, options: TakeoverOptions) => {
  const passed = isRecord(item.pass_thread_control) ? item.pass_thread_control : undefined;
  const taken = isRecord(item.take_thread_control) ? item.take_thread_control : undefined;
  const handover = passed ?? taken;
  if (handover === undefined) return [];
  const newOwner = appIdOf(handover.new_owner_app_id);
  const ours =
    options.appId !== undefined && newOwner !== undefined ? newOwner === options.appId : passed !== undefined;
  return [{ kind: ours ? 'routing_returned' : 'routing_lost', ...where } satisfies TakeoverSignal];
};

const itemSignals = (
  channel: Channel,
  item: unknown,
  entry: Record<string, unknown>,
  options: TakeoverOptions,
): TakeoverSignal[] => {
  if (!isRecord(item)) return [];
  const where = whereOf(channel, item, entry, options.receivedAt);
  if (where === undefined) return [];
  if (isRecord(item.message) && item.message.is_echo === true)
    return echoSignal(where, item.message, options);
  return handoverSignal(where, item, options);
};

/** Messaging items first (echoes, handovers), then standby items: each one says another app owns the thread. */
export const messagingTakeovers = (
  channel: Channel,
  entry: Record<string, unknown>,
  options: TakeoverOptions,
): TakeoverSignal[] => {
  const messaging = Array.isArray(entry.messaging) ? entry.messaging : [];
  const standby = Array.isArray(entry.standby) ? entry.standby : [];
  return [
    ...messaging.flatMap((item) => itemSignals(channel, item, entry, options)),
    ...standby.flatMap((item) => {
      const where = isRecord(item) ? whereOf(channel, item, entry, options.receivedAt) : undefined;
      return where === undefined ? [] : [{ kind: 'routing_lost' as const, ...where }];
    }),
  ];
};
