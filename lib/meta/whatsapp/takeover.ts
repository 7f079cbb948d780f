/**
 * WhatsApp takeover signals (lib/meta/takeover.ts), kept apart from the message parser (inbound.ts):
 * - `smb_message_echoes` (WhatsApp Business app coexistence): `value.message_echoes[]` are messages a person
 *   sent from the phone app, `to` the user — a person;
 * - `messaging_handovers` (WhatsApp Conversation Routing): `control_passed` reaches the new owner (the thread
 *   is this app's), `control_taken` the previous one (it is not). The reference names the notification by
 *   `value.type`; the user is read from the sender/recipient fields it carries (phone number, wa_id or
 *   BSUID), and Messenger-style items (`messaging_handovers[]` with pass/take_thread_control) are read too.
 *   docs/takeover.md says how sure each shape is.
 */
import { isRecord } from '../../platform/records.ts';
import { idSchema, optionalText, timestampSchema } from '../fields.ts';
import type { TakeoverKind, TakeoverOptions, TakeoverSignal } from '../takeover.ts';

const phoneNumberIdOf = (value: Record<string, unknown>): string | undefined => {
  const id = isRecord(value.metadata) ? idSchema.safeParse(value.metadata.phone_number_id) : undefined;
  return id?.success ? id.data : undefined;
};

const timeOf = (value: unknown, fallback: number): number => {
  const t = timestampSchema.safeParse(value);
  return t.success ? t.data : fallback;
};

/** The first usable user id among a party's fields. */
const userOf = (party: unknown): string | undefined => {
  if (!isRecord(party)) return undefined;
  for (const key of ['wa_id', 'phone_number', 'user_id', 'id']) {
    const id = idSchema.safeParse(party[key]);
    if (id.success) return id.data;
  }
  return undefined;
};

const echoSignals = (value: Record<string, unknown>, pageId: string, receivedAt: number) =>
  (Array.isArray(value.message_echoes) ? value.message_echoes : []).flatMap((echo): TakeoverSignal[] => {
    if (!isRecord(echo)) return [];
    const psid = idSchema.safeParse(echo.to);
    if (!psid.success) return [];
    const body = isRecord(echo.text) ? optionalText.safeParse(echo.text.body) : undefined;
    const text = body?.success ? body.data : undefined;
    const at = timeOf(echo.timestamp, receivedAt);
    const mid = typeof echo.id === 'string' && echo.id !== '' ? echo.id : undefined;
    const signal: TakeoverSignal = { kind: 'person', channel: 'whatsapp', pageId, psid: psid.data, at };
    return [{ ...signal, ...(text && { text }), ...(mid && { mid }) }];
  });

const HANDOVER_KINDS: Record<string, TakeoverKind> = {
  control_passed: 'routing_returned',
  control_taken: 'routing_lost',
};

/** One notification: its kind by `type` (or by pass/take_thread_control), its user by sender/recipient. */
const handoverSignal = (
  item: Record<string, unknown>,
  pageId: string,
  options: TakeoverOptions,
): TakeoverSignal[] => {
  const typed = typeof item.type === 'string' ? HANDOVER_KINDS[item.type] : undefined;
  const control = isRecord(item.pass_thread_control) ? item.pass_thread_control : item.take_thread_control;
  const newOwner = isRecord(control) ? control.new_owner_app_id : undefined;
  const byOwner =
    options.appId !== undefined && newOwner !== undefined && newOwner !== null
      ? String(newOwner) === options.appId
      : isRecord(item.pass_thread_control);
  const kind = typed ?? (isRecord(control) ? (byOwner ? 'routing_returned' : 'routing_lost') : undefined);
  const psid = [item.sender, item.recipient, item]
    .map(userOf)
    .find((id) => id !== undefined && id !== pageId);
  if (kind === undefined || psid === undefined) return [];
  return [{ kind, channel: 'whatsapp', pageId, psid, at: timeOf(item.timestamp, options.receivedAt) }];
};

const changeSignals = (change: unknown, options: TakeoverOptions): TakeoverSignal[] => {
  if (!isRecord(change) || !isRecord(change.value)) return [];
  const { value } = change;
  const pageId = phoneNumberIdOf(value);
  if (pageId === undefined) return [];
  if (change.field === 'smb_message_echoes') return echoSignals(value, pageId, options.receivedAt);
  if (change.field !== 'messaging_handovers') return [];
  const items = Array.isArray(value.messaging_handovers) ? value.messaging_handovers : [value];
  return items.flatMap((item) => (isRecord(item) ? handoverSignal(item, pageId, options) : []));
};

export const whatsappTakeovers = (
  entry: Record<string, unknown>,
  options: TakeoverOptions,
): TakeoverSignal[] =>
  (Array.isArray(entry.changes) ? entry.changes : []).flatMap((change) => changeSignals(change, options));
