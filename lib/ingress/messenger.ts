/**
 * Meta's webhook body → normalised InboundEvents.
 *
 * Lenient on the envelope (extra keys, missing `time`, empty `entry`, `standby[]`/`changes[]` next to
 * `messaging[]`), strict on what we use (ids, text, payloads): an item whose used fields have the wrong
 * shape is skipped and counted in `ignored` with a reason — one bad item never fails the others, and
 * nothing here throws. The reasons are a closed set, so they are safe as metric dimensions.
 *
 * Rules for shapes seen in the wild (shared corpus):
 * - echoes (`message.is_echo`) and any item whose sender is the page itself are never answered (reply loop);
 * - `standby[]` items belong to another app that owns the thread (Meta, Handover Protocol): never answered;
 * - `changes[]` (the dashboard "Test" button) is not a messaging event;
 * - a sender must be an object with `id` or `user_ref`; a bare string/number sender is malformed;
 *   a `user_ref` sender (chat plugin guest) becomes psid `user_ref:<ref>` (see lib/queue/inbound.ts);
 * - numeric ids are accepted only as safe integers; larger integer literals keep their exact source text;
 * - timestamps may be numbers, numeric strings, floats, or seconds (< 1e11 is read as seconds);
 * - read, delivery, edits, handover, payments, games, account linking, app_roles, policy enforcement:
 *   counted, never answered; unknown event keys are counted as `unknown_event`, not errors.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type InboundEvent, USER_REF_PREFIX } from '../queue/inbound.ts';

export type ParsedWebhook = { events: InboundEvent[]; ignored: Record<string, number> };

/**
 * Ids used in queue group ids: printable ASCII without spaces (SQS MessageGroupId alphabet) and short
 * enough that `<pageId>:<psid>` stays within SQS's 128-character group id limit.
 */
const ID_PATTERN = /^[\x21-\x7e]{1,63}$/;
/** A mid usable as a sequence id as-is (codec: ≤ 200 chars); other mids are hashed. */
const MID_AS_ID = /^[\x21-\x7e]{1,200}$/;

const idSchema = z
  .union([z.string(), z.number().refine(Number.isSafeInteger, 'numeric id must be a safe integer')])
  .transform(String)
  .pipe(z.string().regex(ID_PATTERN, 'id must be 1-63 printable ASCII characters'));

/** Epoch ms from a number or numeric string; seconds (anything below 1e11, i.e. before 1973 in ms) × 1000. */
const timestampSchema = z
  .union([z.number(), z.string().regex(/^\d+(\.\d+)?$/)])
  .transform(Number)
  .pipe(z.number().finite().min(0))
  .transform((n) => {
    const t = Math.trunc(n);
    return t < 1e11 ? t * 1000 : t;
  });

/** An optional text field we use: a string, or absent/null. Any other type makes the item malformed. */
const optionalText = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);

const attachmentSchema = z
  .looseObject({
    type: z.string().min(1),
    payload: z.looseObject({ url: z.unknown().optional() }).nullish(),
    url: z.unknown().optional(),
    URL: z.unknown().optional(),
  })
  .transform((a) => {
    // Classic attachments carry payload.url; pre-v6 fallback shares carry url/URL at the attachment level.
    const url = [a.payload?.url, a.url, a.URL].find((u): u is string => typeof u === 'string' && u !== '');
    return url === undefined ? { type: a.type } : { type: a.type, url };
  });

const messageSchema = z.looseObject({
  mid: optionalText,
  text: optionalText,
  quick_reply: z.looseObject({ payload: optionalText }).nullish(),
  attachments: z.array(z.unknown()).nullish(),
  reply_to: z.looseObject({ mid: optionalText }).nullish(),
});

const referralSchema = z.looseObject({ ref: optionalText, source: optionalText, type: optionalText });

const postbackSchema = z.looseObject({
  mid: optionalText,
  title: optionalText,
  payload: optionalText,
  referral: referralSchema.nullish(),
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

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * A stable id for events without a usable mid: the same event re-delivered by Meta hashes the same
 * (every input comes from the body), two different events of one user differ by timestamp or content.
 */
const hashedEventId = (parts: readonly unknown[]): string => `h_${sha256(JSON.stringify(parts))}`;

const eventIdFromMid = (mid: string): string => (MID_AS_ID.test(mid) ? mid : hashedEventId(['mid', mid]));

/**
 * Decodes a raw body: strict UTF-8, then JSON. Integer literals above 2^53 are kept as their exact source
 * text (JSON.parse source access), so an id sent as a number is never rounded. Reasons never echo the body.
 */
export const parseJsonBody = (
  body: Uint8Array,
): { ok: true; json: unknown } | { ok: false; reason: string } => {
  if (body.byteLength === 0) return { ok: false, reason: 'body is empty' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { ok: false, reason: 'body is not valid UTF-8' };
  }
  try {
    const json: unknown = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' &&
      !Number.isSafeInteger(value) &&
      context?.source !== undefined &&
      /^-?\d+$/.test(context.source)
        ? context.source
        : value,
    );
    return { ok: true, json };
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }
};

/** Why a decoded body is not a Messenger page webhook at all (→ HTTP 400), or undefined when it is one. */
export const envelopeProblem = (json: unknown): string | undefined => {
  if (!isRecord(json)) return 'body must be a JSON object';
  if (json.object !== 'page') return 'field "object" must be "page"';
  if (json.entry !== undefined && !Array.isArray(json.entry)) return 'field "entry" must be an array';
  return undefined;
};

type ItemResult = { event: InboundEvent } | { ignored: string };

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

const parseItem = (item: unknown, entry: Record<string, unknown>, receivedAt: number): ItemResult => {
  if (!isRecord(item)) return { ignored: 'malformed_item' };

  const message = item.message;
  const kind: InboundEvent['kind'] | undefined =
    message !== undefined
      ? 'message'
      : item.postback !== undefined
        ? 'postback'
        : item.reaction !== undefined
          ? 'reaction'
          : item.optin !== undefined
            ? 'optin'
            : item.referral !== undefined
              ? 'referral'
              : undefined;
  if (kind === undefined) {
    const known = Object.keys(item).find((k): k is keyof typeof NO_REPLY_EVENTS => k in NO_REPLY_EVENTS);
    return { ignored: known === undefined ? 'unknown_event' : NO_REPLY_EVENTS[known] };
  }
  // Meta, Webhook events "message_echoes": our own outgoing messages come back; answering them loops.
  if (isRecord(message) && message.is_echo === true) return { ignored: 'echo' };
  if (isRecord(message) && message.is_deleted === true) return { ignored: 'message_deleted' };

  const sender = senderOf(item);
  if ('ignored' in sender) return sender;
  const { psid } = sender;

  const entryId = idSchema.safeParse(entry.id);
  const recipient = isRecord(item.recipient) ? idSchema.safeParse(item.recipient.id) : undefined;
  const pageId = recipient?.success ? recipient.data : entryId.success ? entryId.data : undefined;
  if (pageId === undefined) return { ignored: 'malformed_recipient' };
  // Loop guard: the page talking to itself (or a test body with sender = recipient) is never answered.
  if (psid === pageId || (entryId.success && psid === entryId.data)) return { ignored: 'sender_is_page' };

  const itemTime = timestampSchema.safeParse(item.timestamp);
  const entryTime = timestampSchema.safeParse(entry.time);
  // The hashed id uses only body values, so a re-delivery hashes the same even without any timestamp.
  const bodyTime = itemTime.success ? itemTime.data : entryTime.success ? entryTime.data : null;
  const timestamp = bodyTime ?? receivedAt;
  const base = { pageId, psid, timestamp, attachments: [] };

  switch (kind) {
    case 'message': {
      const m = messageSchema.safeParse(message);
      if (!m.success) return { ignored: 'malformed_message' };
      const attachments = (m.data.attachments ?? []).flatMap((a) => {
        const parsed = attachmentSchema.safeParse(a);
        return parsed.success ? [parsed.data] : [];
      });
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
              kind,
              text ?? null,
              quickReplyPayload ?? null,
              attachments,
            ]);
      return {
        event: {
          ...base,
          kind,
          eventId,
          attachments,
          ...(mid !== undefined && { mid }),
          ...(text !== undefined && { text }),
          ...(quickReplyPayload !== undefined && { quickReplyPayload }),
          ...(m.data.reply_to?.mid && { replyToMid: m.data.reply_to.mid }),
        },
      };
    }
    case 'postback': {
      const p = postbackSchema.safeParse(item.postback);
      if (!p.success) return { ignored: 'malformed_postback' };
      const { mid, title, payload, referral } = p.data;
      const eventId = mid
        ? eventIdFromMid(mid)
        : hashedEventId([pageId, psid, bodyTime, kind, title, payload]);
      return {
        event: {
          ...base,
          kind,
          eventId,
          ...(mid && { mid }),
          postback: { ...(title !== undefined && { title }), ...(payload !== undefined && { payload }) },
          ...(referral && { referral: compact(referral) }),
        },
      };
    }
    case 'reaction': {
      const r = reactionSchema.safeParse(item.reaction);
      if (!r.success) return { ignored: 'malformed_reaction' };
      const { action, reaction, emoji, mid } = r.data;
      // Never the mid: it names the reacted-to message, whose own sequence already uses it as its id.
      const eventId = hashedEventId([pageId, psid, bodyTime, kind, action, reaction, emoji, mid]);
      return {
        event: {
          ...base,
          kind,
          eventId,
          ...(mid && { mid }),
          reaction: {
            action,
            ...(reaction !== undefined && { reaction }),
            ...(emoji !== undefined && { emoji }),
          },
        },
      };
    }
    case 'optin': {
      const o = optinSchema.safeParse(item.optin);
      if (!o.success) return { ignored: 'malformed_optin' };
      const optin = compact({ ref: o.data.ref, type: o.data.type });
      return {
        event: { ...base, kind, eventId: hashedEventId([pageId, psid, bodyTime, kind, optin]), optin },
      };
    }
    case 'referral': {
      const r = referralSchema.safeParse(item.referral);
      if (!r.success) return { ignored: 'malformed_referral' };
      const referral = compact(r.data);
      return {
        event: { ...base, kind, eventId: hashedEventId([pageId, psid, bodyTime, kind, referral]), referral },
      };
    }
  }
};

/** Keeps only the ref/source/type strings that are present (the rest of a referral is not used). */
const compact = (o: { ref?: string; source?: string; type?: string }) => ({
  ...(o.ref !== undefined && { ref: o.ref }),
  ...(o.source !== undefined && { source: o.source }),
  ...(o.type !== undefined && { type: o.type }),
});

/**
 * All answerable events of a webhook body, in body order, one per eventId (Meta may batch the same mid
 * twice), plus the count of skipped items per reason. Never throws, whatever `json` is.
 * `receivedAt` is only the timestamp of events that carry none.
 */
export const parseWebhookBody = (json: unknown, receivedAt = 0): ParsedWebhook => {
  const events: InboundEvent[] = [];
  const ignored: Record<string, number> = {};
  const skip = (reason: string, n = 1) => {
    if (n > 0) ignored[reason] = (ignored[reason] ?? 0) + n;
  };
  if (envelopeProblem(json) !== undefined || !isRecord(json)) {
    skip('not_a_page_webhook');
    return { events, ignored };
  }
  const seen = new Set<string>();
  for (const entry of Array.isArray(json.entry) ? json.entry : []) {
    if (!isRecord(entry)) {
      skip('malformed_entry');
      continue;
    }
    if (Array.isArray(entry.standby)) skip('standby', entry.standby.length);
    if (Array.isArray(entry.changes)) skip('changes', entry.changes.length);
    if (entry.messaging === undefined) continue;
    if (!Array.isArray(entry.messaging)) {
      skip('malformed_entry');
      continue;
    }
    for (const item of entry.messaging) {
      let result: ItemResult;
      try {
        result = parseItem(item, entry, receivedAt);
      } catch {
        // Defensive: the schemas above do not throw, but one item must never sink the whole body.
        result = { ignored: 'malformed_item' };
      }
      if ('ignored' in result) {
        skip(result.ignored);
      } else if (seen.has(result.event.eventId)) {
        skip('duplicate');
      } else {
        seen.add(result.event.eventId);
        events.push(result.event);
      }
    }
  }
  return { events, ignored };
};
