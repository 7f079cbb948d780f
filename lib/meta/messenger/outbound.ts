/**
 * Messenger Send API calls: POST /{PAGE_ID}/messages with recipient + message or sender_action
 * (Meta, Send API reference; Sender Actions). Every planned step is one call.
 */
import { graphRecipientOf } from '../../queue/recipient.ts';
import type { Action } from '../../queue/step.ts';
import type { ChannelShape, SendTarget } from '../outbound-shape.ts';

/** The Send API body for one step: the action as planned, plus the recipient. */
export const messengerRequestBody = ({ psid }: SendTarget, action: Action): Record<string, unknown> => {
  // A guest of the chat plugin has no PSID yet, only a user_ref (lib/queue/inbound.ts); Graph takes either.
  const recipient = graphRecipientOf(psid);
  // A quote is a top-level `reply_to: {mid}` beside `message` (Graph API reference, Page Messages: reply_to).
  if ('message' in action)
    return {
      recipient,
      messaging_type: 'RESPONSE',
      message: action.message,
      ...(action.quote && { reply_to: { mid: action.quote.mid } }),
    };
  // Sender actions carry only recipient and sender_action (+ payload for react/unreact): no messaging_type.
  // Stryker disable next-line ConditionalExpression: equivalent as `true`: an indicator's payload is undefined, and JSON.stringify drops the key
  if (action.sender_action === 'react' || action.sender_action === 'unreact')
    return { recipient, sender_action: action.sender_action, payload: action.payload };
  return { recipient, sender_action: action.sender_action };
};

/** The Send API answers `{recipient_id, message_id?}`. */
export const hasRecipientId = (body: Record<string, unknown>): boolean => body.recipient_id !== undefined;

export const messengerShape: ChannelShape = {
  requestFor: (target, action) => ({
    // An empty page id means "the Page of the token" (console sends without one).
    call: {
      node: target.pageId.trim() === '' ? 'me' : target.pageId,
      body: messengerRequestBody(target, action),
    },
  }),
  isExpectedSuccess: hasRecipientId,
};
