/**
 * WhatsApp Cloud API calls: POST /{PHONE_NUMBER_ID}/messages (Meta, WhatsApp Cloud API → Messages;
 * Typing indicators; Mark messages as read). How the plan's steps map:
 * - mark_seen → no call: WhatsApp marks read in the same call that shows typing, so the blue ticks and the
 *   indicator appear together when the typing starts, after the reading pause;
 * - typing_on → `{status: "read", message_id: <inbound wamid>, typing_indicator: {type: "text"}}`. The
 *   indicator ends with the reply or after 25 s, whichever comes first; the planner refreshes typing every
 *   25.5 s (typing.ts: after the 25 s, so a refresh is not lost to the cooldown one integration reports);
 * - typing_off → no call: WhatsApp has none (the reply, or the 25 s, ends the indicator);
 * - message → `{messaging_product, recipient_type, to | recipient, type: text | image | audio | video |
 *   document | interactive}`: `to` for a phone number, `recipient` for a business-scoped user id (user-id.ts); ≤ 3 text quick replies become reply buttons, 4–10 a list; more cannot be shown;
 * - react / unreact → `type: "reaction"` with the emoji ("" removes it).
 */
import type { Action, GraphMessage, QuickReply } from '../../queue/step.ts';
import type { ChannelPlan, ChannelShape, SendTarget } from '../outbound-shape.ts';
import { refineWhatsAppFailure } from './errors.ts';
import { whatsappAddressOf } from './user-id.ts';

/** Cloud API, interactive messages: 3 reply buttons, 10 list rows; titles 20 / 24, ids 256 / 200 chars. */
const MAX_BUTTONS = 3;
const MAX_LIST_ROWS = 10;
const MAX_BUTTON_ID = 256;
const MAX_ROW_TITLE = 24;
const MAX_ROW_ID = 200;
/** Interactive message body text limit (a plain text message allows 4096; ours are ≤ 2000). */
const MAX_INTERACTIVE_BODY = 1024;
/** The label of the button that opens a list: shown to the user. */
export const LIST_BUTTON_LABEL = 'Options';

const ATTACHMENT_TYPES = { image: 'image', audio: 'audio', video: 'video', file: 'document' } as const;

type Envelope = { messaging_product: 'whatsapp'; recipient_type: 'individual' } & (
  | { to: string }
  | { recipient: string }
);
type Built = { body: Record<string, unknown> } | { unsupported: string };

/** Who a message goes to: `to` a phone number, or `recipient` a BSUID (Cloud API → Messages, BSUID sends). */
const envelope = (userKey: string): Envelope => ({
  messaging_product: 'whatsapp',
  recipient_type: 'individual',
  ...whatsappAddressOf(userKey),
});

type TextChoice = Extract<QuickReply, { content_type: 'text' }>;

const interactiveOf = (text: string, choices: readonly TextChoice[]): Built => {
  if (text.length > MAX_INTERACTIVE_BODY)
    return { unsupported: `WhatsApp button/list text is limited to ${MAX_INTERACTIVE_BODY} characters` };
  if (choices.length <= MAX_BUTTONS) {
    if (choices.some((c) => c.payload.length > MAX_BUTTON_ID))
      return { unsupported: `WhatsApp button ids are limited to ${MAX_BUTTON_ID} characters` };
    const buttons = choices.map((c) => ({ type: 'reply', reply: { id: c.payload, title: c.title } }));
    return {
      body: { type: 'interactive', interactive: { type: 'button', body: { text }, action: { buttons } } },
    };
  }
  if (choices.length > MAX_LIST_ROWS)
    return { unsupported: `WhatsApp shows at most ${MAX_LIST_ROWS} choices (got ${choices.length})` };
  if (choices.some((c) => c.payload.length > MAX_ROW_ID || c.title.length > MAX_ROW_TITLE))
    return { unsupported: 'a WhatsApp list row id or title is too long' };
  const rows = choices.map((c) => ({ id: c.payload, title: c.title }));
  const action = { button: LIST_BUTTON_LABEL, sections: [{ rows }] };
  return { body: { type: 'interactive', interactive: { type: 'list', body: { text }, action } } };
};

/** The type-specific part of a WhatsApp message for one planned message. */
export const whatsappMessageOf = (message: GraphMessage): Built => {
  const choices = message.quick_replies ?? [];
  if (choices.some((c) => c.content_type !== 'text'))
    return { unsupported: 'WhatsApp has no phone or email quick replies' };
  if (message.attachment !== undefined) {
    if (choices.length > 0) return { unsupported: 'WhatsApp cannot put buttons under an attachment' };
    const type = ATTACHMENT_TYPES[message.attachment.type];
    return { body: { type, [type]: { link: message.attachment.payload.url } } };
  }
  const text = message.text ?? '';
  if (choices.length > 0) return interactiveOf(text, choices as TextChoice[]);
  return { body: { type: 'text', text: { body: text } } };
};

const readAndTyping = (inboundMid: string) => ({
  messaging_product: 'whatsapp',
  status: 'read',
  message_id: inboundMid,
  typing_indicator: { type: 'text' },
});

const whatsappRequestFor = (target: SendTarget, action: Action): ChannelPlan => {
  const node = target.pageId;
  if ('message' in action) {
    const built = whatsappMessageOf(action.message);
    // A quote is the Cloud API's contextual reply: `context: {message_id}` (Cloud API → Messages, context).
    const context = action.quote && { context: { message_id: action.quote.mid } };
    return 'unsupported' in built
      ? built
      : { call: { node, body: { ...envelope(target.psid), ...context, ...built.body } } };
  }
  switch (action.sender_action) {
    case 'mark_seen':
      return { skip: 'whatsapp marks read together with typing' };
    case 'typing_off':
      return { skip: 'whatsapp has no typing_off' };
    case 'typing_on':
      // Cloud API requires the wamid of a received message; without one there is nothing to show typing on.
      return target.inboundMid === undefined
        ? { skip: 'no inbound message to show typing on' }
        : { call: { node, body: readAndTyping(target.inboundMid) } };
    case 'react':
    case 'unreact': {
      const emoji = action.sender_action === 'react' ? action.payload.reaction : '';
      const reaction = { message_id: action.payload.message_id, emoji };
      return { call: { node, body: { ...envelope(target.psid), type: 'reaction', reaction } } };
    }
  }
};

/** Messages answer `{messaging_product, contacts, messages: [{id}]}`; read/typing answers `{success: true}`. */
const isWhatsAppSuccess = (body: Record<string, unknown>): boolean =>
  body.success === true || Array.isArray(body.messages);

export const whatsappShape: ChannelShape = {
  requestFor: whatsappRequestFor,
  isExpectedSuccess: isWhatsAppSuccess,
  refineFailure: refineWhatsAppFailure,
};
