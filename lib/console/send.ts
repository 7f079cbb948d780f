/**
 * The console trigger: an operator picks a saved test event of the `send` function in the Lambda console
 * and presses Test. The payload names a page and user and either `replies` (planned with the same typing
 * model as the webhook) or explicit `steps`; it is enqueued exactly as the webhook enqueues, through the
 * same producer.
 *
 * Whatever arrives, the answer is a value, never a thrown error: `{ ok: false, errors: [{ path, message }] }`
 * names each bad field, so the console shows what to fix instead of a stack trace.
 *
 * Channels: `channel` (default messenger) says which Graph calls the sender builds for the steps
 * (lib/meta/). On WhatsApp a typing indicator is one call with the read receipt and names a
 * received message (Cloud API, Typing indicators: `message_id` is required), so a payload whose steps show
 * typing must give that message's id as `inboundMid` — without it the sender would skip every typing step.
 *
 * Idempotency: dedup ids are `<sequenceId>:<index>`. A supplied sequenceId makes a second press within
 * SQS's 5-minute deduplication window a no-op (AWS SQS Developer Guide, "Exactly-once processing"); without
 * one, each press generates a random id and sends again.
 */

import type { PlanConfig } from '../pacing/config.ts';
import type { PlanInput } from '../pacing/plan.ts';
import { type FieldError, fieldErrors } from '../platform/issues.ts';
import { type Telemetry, userLabel } from '../platform/telemetry.ts';
import * as z from '../platform/zod.ts';
import type { SequenceToEnqueue } from '../queue/producer.ts';
import { CHANNELS } from '../queue/recipient.ts';
import { replySchema } from '../queue/reply.ts';
import { EnqueueError } from '../queue/retry.ts';
import { type ActionKind, actionKind, type Step, stepSchema } from '../queue/step.ts';
import { type ControlDeps, type ControlResult, isControlPayload, runControl } from './control.ts';

/** Bounds that keep one press one conversation turn (and the producer at a batch or two). */
const MAX_REPLIES = 10;
const MAX_STEPS = 50;
const MAX_INBOUND_TEXT_LENGTH = 20_000;

/** Meta ids are digit strings above 2^53: as JSON numbers they would silently change, so say so. */
const idSchema = (what: string) =>
  z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? `${what} is required`
          : typeof issue.input === 'number'
            ? `${what} must be a string: put it in quotes (Meta ids exceed the precision of JSON numbers)`
            : `${what} must be a string`,
    })
    .check(z.minLength(1, `${what} must not be empty`), z.maxLength(64, `${what} is at most 64 characters`));

/** An optional string of `min`…`max` characters. */
const optionalString = (min: number, max: number) =>
  z.optional(z.string().check(z.minLength(min), z.maxLength(max)));
/** An optional list of 1…`max` items. */
const optionalList = <T extends z.ZodMiniType>(item: T, max: number) =>
  z.optional(z.array(item).check(z.minLength(1), z.maxLength(max)));

const sendPayloadSchema = z.strictObject({
  /** Messenger when absent. */
  channel: z.optional(z.enum(CHANNELS, { error: () => `channel must be one of ${CHANNELS.join(', ')}` })),
  pageId: idSchema('the account id the user talks to (Page, Instagram account or WhatsApp phone-number id)'),
  psid: idSchema("the user's id (Messenger/Instagram PSID or WhatsApp number)"),
  /** WhatsApp only: the received message (wamid) that read receipts and typing name. */
  inboundMid: optionalString(1, 512),
  /** Supply one to make repeated presses idempotent for 5 minutes; omitted → a random id per press. */
  sequenceId: optionalString(1, 200),
  /** What the user wrote, for the reading pause before the first reply (replies only). */
  inboundText: z.optional(z.string().check(z.maxLength(MAX_INBOUND_TEXT_LENGTH))),
  replies: optionalList(replySchema, MAX_REPLIES),
  steps: optionalList(stepSchema, MAX_STEPS),
});

type SendPayload = z.infer<typeof sendPayloadSchema>;

type StepSummary = { index: number; kind: ActionKind; delayMs: number };
export type SendResult =
  | {
      ok: true;
      groupId: string;
      sequenceId: string;
      steps: StepSummary[];
      messageIds: string[];
    }
  | { ok: false; errors: FieldError[]; retryable?: boolean };

/** Whether the payload's steps show typing: planned replies always do (lib/pacing/plan.ts); explicit ones may. */
const showsTyping = (input: Record<string, unknown>): boolean =>
  input.replies !== undefined ||
  (Array.isArray(input.steps) &&
    input.steps.some(
      (step) => (step as { action?: { sender_action?: unknown } })?.action?.sender_action === 'typing_on',
    ));

/** inboundMid is what WhatsApp's typing call names, and only that channel's calls use it. */
const channelErrors = (input: Record<string, unknown>): FieldError[] => {
  const whatsapp = input.channel === 'whatsapp';
  if (whatsapp && input.inboundMid === undefined && showsTyping(input))
    return [
      {
        path: 'inboundMid',
        message:
          'WhatsApp shows typing only on a received message: give its id (wamid.…) or use steps without typing_on',
      },
    ];
  if (!whatsapp && input.inboundMid !== undefined)
    return [{ path: 'inboundMid', message: 'only used with channel "whatsapp"; leave it out' }];
  return [];
};

/** Rules across fields, checked on the raw input so they are reported together with the field errors. */
const shapeErrors = (input: Record<string, unknown>): FieldError[] => {
  const has = (key: string) => input[key] !== undefined;
  if (has('replies') && has('steps'))
    return [{ path: 'steps', message: 'give either replies or steps, not both' }];
  if (!has('replies') && !has('steps'))
    return [
      {
        path: '(root)',
        message:
          'give exactly one of replies (planned with the typing model) or steps (explicit, with delays)',
      },
    ];
  if (has('steps') && has('inboundText'))
    return [{ path: 'inboundText', message: 'only used to plan replies; with explicit steps, leave it out' }];
  return channelErrors(input);
};

type ParseResult = { ok: true; payload: SendPayload } | { ok: false; errors: FieldError[] };

/** Validates a console payload; never throws. */
export const parseSendPayload = (input: unknown): ParseResult => {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return {
      ok: false,
      errors: [
        {
          path: '(root)',
          message: 'the test event must be a JSON object with pageId, psid and replies or steps',
        },
      ],
    };
  const parsed = sendPayloadSchema.safeParse(input);
  const errors = [
    ...(parsed.success ? [] : fieldErrors(parsed.error.issues)),
    ...shapeErrors(input as Record<string, unknown>),
  ];
  if (errors.length > 0 || !parsed.success) return { ok: false, errors };
  return { ok: true, payload: parsed.data };
};

export type SendDeps = {
  planConfig: PlanConfig;
  /** The planner (lib/pacing/plan.ts planSequence), bound by the caller so tests may substitute it. */
  plan: (input: PlanInput, config: PlanConfig) => Step[];
  /** The producer (lib/queue/producer.ts enqueueSequence) with its client and queue bound. */
  enqueue: (seq: SequenceToEnqueue) => Promise<{ groupId: string; messageIds: string[] }>;
  now: () => number;
  /** A fresh random sequence id for presses that supply none. */
  newSequenceId: () => string;
  telemetry?: Pick<Telemetry, 'log' | 'metric'>;
  /** Pause / resume for one user (lib/console/control.ts); absent: control payloads are refused. */
  control?: ControlDeps;
};

/** The steps a payload asks for: its explicit list, or its replies planned with the typing model. */
const stepsOf = (
  payload: SendPayload,
  sequenceId: string,
  deps: Pick<SendDeps, 'plan' | 'planConfig'>,
): Step[] =>
  payload.steps ??
  deps.plan(
    {
      // The seed makes a supplied sequence id plan the same pauses on every press.
      seed: sequenceId,
      ...(payload.inboundText !== undefined && { inboundText: payload.inboundText }),
      replies: payload.replies ?? [],
    },
    deps.planConfig,
  );

/** Plans and enqueues a valid payload; answers what was enqueued. */
const enqueuePayload = async (payload: SendPayload, deps: SendDeps): Promise<SendResult> => {
  const sequenceId = payload.sequenceId ?? deps.newSequenceId();
  const steps = stepsOf(payload, sequenceId, deps);
  const { groupId, messageIds } = await deps.enqueue({
    channel: payload.channel ?? 'messenger',
    ...(payload.inboundMid !== undefined && { inboundMid: payload.inboundMid }),
    pageId: payload.pageId,
    psid: payload.psid,
    sequenceId,
    steps,
    plannedAt: deps.now(),
  });
  deps.telemetry?.metric('ConsoleSends', 1);
  deps.telemetry?.log.info('console send enqueued', {
    channel: payload.channel ?? 'messenger',
    user: userLabel(payload.psid),
    sequenceId,
    steps: steps.length,
    sequenceIdSupplied: payload.sequenceId !== undefined,
  });
  return {
    ok: true,
    groupId,
    sequenceId,
    steps: steps.map((s, index) => ({ index, kind: actionKind(s.action), delayMs: s.delayMs })),
    messageIds,
  };
};

/** A failed plan or enqueue as a value the console shows, retryable only when the producer says so. */
const sendFailure = (error: unknown, deps: SendDeps): SendResult => {
  // EnqueueError messages name codes and counts only (lib/queue/producer.ts); anything else is reported by name.
  const message =
    error instanceof EnqueueError
      ? `could not enqueue: ${error.message}`
      : `internal error: ${error instanceof Error ? error.name : 'unknown'}`;
  deps.telemetry?.metric('ConsoleSendFailed', 1);
  deps.telemetry?.log.error('console send failed', { error: message });
  return {
    ok: false,
    errors: [{ path: '(queue)', message }],
    retryable: error instanceof EnqueueError ? error.retryable : false,
  };
};

/** Validates, plans and enqueues one console payload (or pauses / resumes the bot for a user). Never throws. */
export const runSend = async (input: unknown, deps: SendDeps): Promise<SendResult | ControlResult> => {
  if (deps.control && isControlPayload(input)) return runControl(input, deps.control);
  const parsed = parseSendPayload(input);
  if (!parsed.ok) {
    deps.telemetry?.metric('ConsoleSendRejected', 1);
    deps.telemetry?.log.warn('console send rejected', { errors: parsed.errors.map((e) => e.path) });
    return parsed;
  }
  try {
    // Awaited here, so a rejected enqueue is caught below.
    return await enqueuePayload(parsed.payload, deps);
  } catch (error) {
    return sendFailure(error, deps);
  }
};
