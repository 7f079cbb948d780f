/**
 * What a channel decides for the sender: how one planned step becomes a Graph call (or none), what a
 * successful answer looks like, and how its own error codes refine the generic classification.
 * The planner keeps one typing model (lib/pacing/plan.ts); each channel maps its steps here.
 */
import type { Channel } from '../queue/recipient.ts';
import type { Action } from '../queue/step.ts';
import type { GraphFailure } from './graph/errors.ts';

/** Who a step goes to: the channel, the account whose token sends, the user, the inbound message answered. */
export type SendTarget = { channel?: Channel; pageId: string; psid: string; inboundMid?: string };

/** One POST /{version}/{node}/messages with this JSON body. */
export type ChannelCall = { node: string; body: Record<string, unknown> };

export type ChannelPlan =
  | { call: ChannelCall }
  /** The channel has no such call (WhatsApp typing_off): the step is done without one. */
  | { skip: string }
  /** The step cannot be said on this channel (an Instagram file, five WhatsApp buttons): a permanent failure. */
  | { unsupported: string };

export type ChannelShape = {
  requestFor: (target: SendTarget, action: Action) => ChannelPlan;
  /** Does a 2xx body look like this channel's success answer? (Otherwise it is logged as unexpected.) */
  isExpectedSuccess: (body: Record<string, unknown>) => boolean;
  /** The channel's own error codes on top of classifyGraphError (lib/meta/graph/errors.ts). */
  refineFailure?: (failure: GraphFailure) => GraphFailure;
};
