/**
 * Instagram steps at their edges (lib/meta/instagram/outbound.ts): an unreact removes the reaction without
 * naming one, a plain text needs no quick-reply check, any non-text chip among text ones is refused, and
 * each refusal says why (Meta, Instagram Messaging → Send API: text quick replies only; reactions: love).
 * Written for the mutants Stryker found alive there (docs/mutation.md).
 */
import { describe, expect, it } from 'vitest';
import { channelShapeOf } from '../../../../lib/meta/outbound.ts';
import type { SendTarget } from '../../../../lib/meta/outbound-shape.ts';
import type { Action } from '../../../../lib/queue/step.ts';

const instagram = channelShapeOf('instagram');
const target: SendTarget = { channel: 'instagram', pageId: '17841400000000001', psid: '6543210987654321' };
const recipient = { id: '6543210987654321' };
const plan = (action: Action) => instagram.requestFor(target, action);

describe('Instagram edges', () => {
  it('removes a reaction with only the message id (the reaction is love, never named)', () => {
    expect(plan({ sender_action: 'unreact', payload: { message_id: 'm1' } })).toEqual({
      call: { node: 'me', body: { recipient, sender_action: 'unreact', payload: { message_id: 'm1' } } },
    });
  });

  it('sends a plain text as it is', () => {
    expect(plan({ message: { text: 'Hello!' } })).toEqual({
      call: { node: 'me', body: { recipient, messaging_type: 'RESPONSE', message: { text: 'Hello!' } } },
    });
  });

  it('refuses a phone or email chip even among text ones, and says why each step cannot be shown', () => {
    const mixed: Action = {
      message: {
        text: 'How do we reach you?',
        quick_replies: [
          { content_type: 'text', title: 'Here', payload: 'HERE' },
          { content_type: 'user_email' },
        ],
      },
    };
    expect(plan(mixed)).toEqual({
      unsupported: 'Instagram quick replies are text only (no phone or email chips)',
    });
    const file: Action = {
      message: { attachment: { type: 'file', payload: { url: 'https://example.com/a.pdf' } } },
    };
    expect(plan(file)).toEqual({ unsupported: 'Instagram messages cannot carry file attachments' });
    const laugh: Action = { sender_action: 'react', payload: { message_id: 'm1', reaction: '😂' } };
    expect(plan(laugh)).toEqual({ unsupported: 'Instagram reactions can only be love (❤️)' });
  });
});
