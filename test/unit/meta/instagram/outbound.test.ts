import { describe, expect, it } from 'vitest';
import { channelShapeOf } from '../../../../lib/meta/outbound.ts';
import type { SendTarget } from '../../../../lib/meta/outbound-shape.ts';
import type { Action } from '../../../../lib/queue/step.ts';

const instagram = channelShapeOf('instagram');
const target: SendTarget = { channel: 'instagram', pageId: '17841400000000001', psid: '6543210987654321' };
const recipient = { id: '6543210987654321' };
const plan = (action: Action) => instagram.requestFor(target, action);

describe('Instagram request shapes (Messenger Platform, Page token)', () => {
  it('posts to /me/messages (the Page of the token), with the Messenger body for sender actions and text', () => {
    for (const sender_action of ['mark_seen', 'typing_on', 'typing_off'] as const) {
      expect(plan({ sender_action })).toEqual({ call: { node: 'me', body: { recipient, sender_action } } });
    }
    const quick: Action = {
      message: {
        text: 'Which?',
        quick_replies: [{ content_type: 'text', title: 'A', payload: 'A' }],
        metadata: 'm',
      },
    };
    // metadata is a Messenger-only field: not sent.
    expect(plan(quick)).toEqual({
      call: {
        node: 'me',
        body: {
          recipient,
          messaging_type: 'RESPONSE',
          message: { text: 'Which?', quick_replies: [{ content_type: 'text', title: 'A', payload: 'A' }] },
        },
      },
    });
  });

  it('sends only the love reaction and says why other steps cannot be shown', () => {
    const heart: Action = { sender_action: 'react', payload: { message_id: 'm1', reaction: '❤️' } };
    expect(plan(heart)).toEqual({
      call: {
        node: 'me',
        body: { recipient, sender_action: 'react', payload: { message_id: 'm1', reaction: 'love' } },
      },
    });
    expect(plan({ sender_action: 'react', payload: { message_id: 'm1', reaction: '👍' } })).toHaveProperty(
      'unsupported',
    );
    expect(plan({ sender_action: 'unreact', payload: { message_id: 'm1' } })).toHaveProperty('call');
    const pdf: Action = {
      message: { attachment: { type: 'file', payload: { url: 'https://x.example/a.pdf' } } },
    };
    expect(plan(pdf)).toHaveProperty('unsupported');
    const email: Action = { message: { text: 'mail?', quick_replies: [{ content_type: 'user_email' }] } };
    expect(plan(email)).toHaveProperty('unsupported');
  });
});
