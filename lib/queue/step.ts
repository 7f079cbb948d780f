/**
 * A step is one Graph Send API call. Its `action` is the request body exactly as Graph wants it,
 * minus `recipient` (added by the Graph client) — so the queue, the planner and the sender share one shape.
 *
 * Meta, Sender Actions (shared/seed): "Requests to display sender action should only include the
 * sender_action parameter and the recipient object" — so an action is either a sender action or a
 * message, never both; the union below makes mixing them unrepresentable.
 */
import * as z from '../platform/zod.ts';

/** Meta Send API: text is limited to 2000 UTF-8 characters. */
const MAX_TEXT_LENGTH = 2000;
/** Meta quick replies: at most 13, title ≤ 20 characters, payload ≤ 1000 characters. */
const MAX_QUICK_REPLIES = 13;

const quickReplySchema = z.discriminatedUnion('content_type', [
  z.object({
    content_type: z.literal('text'),
    title: z.string().check(z.minLength(1), z.maxLength(20)),
    payload: z.string().check(z.minLength(1), z.maxLength(1000)),
    image_url: z.optional(z.url()),
  }),
  z.object({ content_type: z.enum(['user_phone_number', 'user_email']) }),
]);

const attachmentSchema = z.object({
  type: z.enum(['image', 'audio', 'video', 'file']),
  payload: z.object({
    url: z.url(),
    is_reusable: z.optional(z.boolean()),
  }),
});

/** The Graph `message` object, exactly as it is sent. */
const graphMessageSchema = z
  .strictObject({
    text: z.optional(z.string().check(z.minLength(1), z.maxLength(MAX_TEXT_LENGTH))),
    attachment: z.optional(attachmentSchema),
    quick_replies: z.optional(
      z.array(quickReplySchema).check(z.minLength(1), z.maxLength(MAX_QUICK_REPLIES)),
    ),
    metadata: z.optional(z.string().check(z.maxLength(1000))),
  })
  .check(
    z.refine((m) => (m.text === undefined) !== (m.attachment === undefined), {
      message: 'a message needs exactly one of text or attachment',
    }),
  );

const indicatorActionSchema = z.strictObject({
  sender_action: z.enum(['mark_seen', 'typing_on', 'typing_off']),
});

export const reactActionSchema = z.strictObject({
  sender_action: z.literal('react'),
  payload: z.strictObject({
    message_id: z.string().check(z.minLength(1)),
    reaction: z.string().check(z.minLength(1), z.maxLength(64)),
  }),
});

export const unreactActionSchema = z.strictObject({
  sender_action: z.literal('unreact'),
  payload: z.strictObject({ message_id: z.string().check(z.minLength(1)) }),
});

/**
 * The user message a reply answers, to quote when the user has written again since (docs/takeover.md):
 * its id and when the webhook received it. Optional, so bodies queued before it still decode.
 */
export const quoteSchema = z.strictObject({
  mid: z.string().check(z.minLength(1), z.maxLength(1000)),
  at: z.number().check(z.int(), z.minimum(0)),
});
export type Quote = z.infer<typeof quoteSchema>;

export const messageActionSchema = z.strictObject({
  message: graphMessageSchema,
  quote: z.optional(quoteSchema),
});

export const actionSchema = z.union([
  indicatorActionSchema,
  reactActionSchema,
  unreactActionSchema,
  messageActionSchema,
]);

export type GraphMessage = z.infer<typeof graphMessageSchema>;
export type QuickReply = z.infer<typeof quickReplySchema>;
export type Action = z.infer<typeof actionSchema>;

/** What a step does, for logs and metrics: the sender action's name, or `message`. */
export type ActionKind = 'mark_seen' | 'typing_on' | 'typing_off' | 'react' | 'unreact' | 'message';

export const actionKind = (action: Action): ActionKind =>
  'message' in action ? 'message' : action.sender_action;

/** The longest a step may wait after its predecessor (the planner clamps to it). */
export const MAX_STEP_DELAY_MS = 15 * 60_000;

export const stepSchema = z.object({
  action: actionSchema,
  /** Wait after the previous step of the same user completed, in ms. */
  delayMs: z.number().check(z.int(), z.minimum(0), z.maximum(MAX_STEP_DELAY_MS)),
  /**
   * Skip this step when it runs later than this many ms after its planned time: a typing_on whose message
   * is already overdue only adds lag. Messages never carry it, so they are never skipped.
   */
  skippableAfterMs: z.optional(z.number().check(z.int(), z.minimum(0))),
  /**
   * A typing_on that refreshes a bubble already showing (Messenger drops it after ~20 s): the first step a
   * hot account sheds (lib/sender/budget.ts).
   */
  refresh: z.optional(z.literal(true)),
});

/** A planned step; a sequence is an ordered array of them. */
export type Step = z.infer<typeof stepSchema>;
