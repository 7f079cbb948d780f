/**
 * The responder queue's body: one inbound event as the webhook understood it, with when it arrived and when
 * the typing bubble the webhook already planned for it starts. Encoded and decoded only here, versioned
 * like the step bodies (lib/queue/codec.ts) and in the same ASCII-safe JSON.
 */
import * as z from '../platform/zod.ts';
import { asciiJson, parseBody } from './codec.ts';
import { inboundEventSchema } from './inbound.ts';

export const INBOUND_BODY_VERSION = 1;

export const queuedInboundSchema = z.object({
  v: z.literal(INBOUND_BODY_VERSION),
  event: inboundEventSchema,
  /** When the webhook received the event and planned its prelude (epoch ms). */
  receivedAt: z.number().check(z.int(), z.minimum(0)),
  /**
   * Planned time of the prelude's typing_on (epoch ms): typing shown from then on counts toward the first
   * reply's typing time. Absent when the webhook planned no prelude (a reaction, an opt-in).
   */
  typingAt: z.optional(z.number().check(z.int(), z.minimum(0))),
  /**
   * `person`: not the user's message but what a person of the business wrote to them (an echo,
   * lib/meta/takeover.ts): never answered, remembered as context (docs/takeover.md).
   */
  author: z.optional(z.literal('person')),
});

export type QueuedInbound = z.infer<typeof queuedInboundSchema>;

export const encodeInbound = (inbound: QueuedInbound): string =>
  asciiJson(queuedInboundSchema.parse(inbound));

export type DecodeInboundResult = { ok: true; inbound: QueuedInbound } | { ok: false; reason: string };

/** Never throws: a body that does not decode is a poison message, reported with a reason. */
export const decodeInbound = (body: string): DecodeInboundResult => {
  const parsed = parseBody(queuedInboundSchema, body);
  return parsed.ok ? { ok: true, inbound: parsed.value } : parsed;
};
