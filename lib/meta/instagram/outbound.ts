/**
 * Instagram Messaging calls, through the Messenger Platform with the Page token of the Page linked to the
 * Instagram professional account (Meta, Instagram Messaging → Send a Message; Sender Actions):
 * POST /me/messages — `me` is that Page, while the account id the webhook names is the Instagram account's,
 * which is not a node the Page token can post to. Same body shape as Messenger, fewer features:
 * - sender actions mark_seen, typing_on, typing_off (all three exist on Instagram, so the plan maps 1:1);
 * - messages: text, image/video/audio attachments (no `file`), text quick replies (no phone/email chips);
 * - reactions: Instagram's only documented reaction is "love" (❤️); other emoji cannot be sent.
 * Accounts on "Instagram API with Instagram Login" (no Page; an Instagram user token) take the same bodies on
 * POST graph.instagram.com/{v}/me/messages (Instagram Login → Messaging API → Send messages; Sender actions):
 * the client sends them to that origin with their own token (lib/meta/graph/client.ts, instagramLogin).
 */
import type { Action } from '../../queue/step.ts';
import { hasRecipientId, messengerRequestBody } from '../messenger/outbound.ts';
import type { ChannelPlan, ChannelShape, SendTarget } from '../outbound-shape.ts';

/** ❤️ with or without the emoji variation selector, and the name Meta's Messenger webhooks use for it. */
const LOVE = new Set(['love', '❤️', '❤', '\u2764\uFE0F']);

/** Why Instagram cannot show this action, or undefined when it can. */
export const instagramUnsupported = (action: Action): string | undefined => {
  if ('message' in action) {
    const { attachment, quick_replies } = action.message;
    if (attachment?.type === 'file') return 'Instagram messages cannot carry file attachments';
    if (quick_replies?.some((q) => q.content_type !== 'text'))
      return 'Instagram quick replies are text only (no phone or email chips)';
    return undefined;
  }
  if (action.sender_action === 'react' && !LOVE.has(action.payload.reaction))
    return 'Instagram reactions can only be love (❤️)';
  return undefined;
};

const instagramRequestFor = (target: SendTarget, action: Action): ChannelPlan => {
  const unsupported = instagramUnsupported(action);
  if (unsupported !== undefined) return { unsupported };
  if ('message' in action) {
    // metadata is a Messenger echo feature; Instagram documents no such field, so it is not sent.
    // Nor does Instagram's Send a Message page document a reply_to: the reply goes out unquoted.
    const { metadata: _metadata, ...message } = action.message;
    return { call: { node: 'me', body: messengerRequestBody(target, { message }) } };
  }
  if (action.sender_action === 'react') {
    const react = { ...action, payload: { ...action.payload, reaction: 'love' } };
    return { call: { node: 'me', body: messengerRequestBody(target, react) } };
  }
  return { call: { node: 'me', body: messengerRequestBody(target, action) } };
};

export const instagramShape: ChannelShape = {
  requestFor: instagramRequestFor,
  isExpectedSuccess: hasRecipientId,
};
