import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelShapeOf } from '../../../../lib/meta/outbound.ts';
import type { SendTarget } from '../../../../lib/meta/outbound-shape.ts';
import { type Action, actionSchema } from '../../../../lib/queue/step.ts';

const whatsapp = channelShapeOf('whatsapp');
const target: SendTarget = {
  channel: 'whatsapp',
  pageId: '106540352242922',
  psid: '16505551234',
  inboundMid: 'wamid.IN',
};
const envelope = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234' };
const plan = (action: Action, t: SendTarget = target) => whatsapp.requestFor(t, action);
const bodyOf = (action: Action) => {
  const p = plan(action);
  if (!('call' in p)) throw new Error(`no call: ${JSON.stringify(p)}`);
  expect(p.call.node).toBe(target.pageId);
  return p.call.body;
};
const text = (t: string, quick_replies?: { title: string; payload: string }[]): Action => ({
  message: {
    text: t,
    ...(quick_replies && {
      quick_replies: quick_replies.map((q) => ({ content_type: 'text' as const, ...q })),
    }),
  },
});
const choices = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ title: `Choice ${i}`, payload: `P${i}` }));

describe('WhatsApp request shapes (Cloud API)', () => {
  it('shows read + typing as ONE call naming the inbound wamid, and makes no call for mark_seen or typing_off', () => {
    expect(bodyOf({ sender_action: 'typing_on' })).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: 'wamid.IN',
      typing_indicator: { type: 'text' },
    });
    expect(plan({ sender_action: 'mark_seen' })).toHaveProperty('skip');
    expect(plan({ sender_action: 'typing_off' })).toHaveProperty('skip');
    // Without an inbound message there is nothing to show typing on: no call (never one Meta rejects).
    expect(plan({ sender_action: 'typing_on' }, { ...target, inboundMid: undefined })).toHaveProperty('skip');
  });

  it('sends text, media by link, and reactions (empty emoji removes)', () => {
    expect(bodyOf(text('Hello!'))).toEqual({ ...envelope, type: 'text', text: { body: 'Hello!' } });
    const photo: Action = {
      message: { attachment: { type: 'image', payload: { url: 'https://x.example/a.png' } } },
    };
    expect(bodyOf(photo)).toEqual({ ...envelope, type: 'image', image: { link: 'https://x.example/a.png' } });
    const file: Action = {
      message: { attachment: { type: 'file', payload: { url: 'https://x.example/a.pdf' } } },
    };
    expect(bodyOf(file)).toMatchObject({ type: 'document', document: { link: 'https://x.example/a.pdf' } });
    const react: Action = { sender_action: 'react', payload: { message_id: 'wamid.IN', reaction: '👍' } };
    expect(bodyOf(react)).toEqual({
      ...envelope,
      type: 'reaction',
      reaction: { message_id: 'wamid.IN', emoji: '👍' },
    });
    const unreact: Action = { sender_action: 'unreact', payload: { message_id: 'wamid.IN' } };
    expect(bodyOf(unreact)).toMatchObject({ reaction: { message_id: 'wamid.IN', emoji: '' } });
  });

  it('turns ≤ 3 quick replies into reply buttons and 4–10 into a list; more cannot be shown', () => {
    expect(bodyOf(text('Pick one', choices(3)))).toEqual({
      ...envelope,
      type: 'interactive',
      interactive: {
        type: 'button',
        body: { text: 'Pick one' },
        action: {
          buttons: choices(3).map((c) => ({ type: 'reply', reply: { id: c.payload, title: c.title } })),
        },
      },
    });
    expect(bodyOf(text('Pick one', choices(10)))).toMatchObject({
      type: 'interactive',
      interactive: {
        type: 'list',
        action: {
          button: 'Options',
          sections: [{ rows: choices(10).map((c) => ({ id: c.payload, title: c.title })) }],
        },
      },
    });
    expect(plan(text('Pick one', choices(11)))).toEqual({ unsupported: expect.stringMatching(/at most 10/) });
    expect(plan(text('x'.repeat(1025), choices(2)))).toHaveProperty('unsupported');
    const phone: Action = {
      message: { text: 'number?', quick_replies: [{ content_type: 'user_phone_number' }] },
    };
    expect(plan(phone)).toHaveProperty('unsupported');
  });

  it('accepts both of its success bodies and nothing else', () => {
    expect(whatsapp.isExpectedSuccess({ success: true })).toBe(true);
    expect(whatsapp.isExpectedSuccess({ messaging_product: 'whatsapp', messages: [{ id: 'wamid.X' }] })).toBe(
      true,
    );
    expect(whatsapp.isExpectedSuccess({ recipient_id: '1' })).toBe(false);
  });

  it('gives every valid step a call, a skip or a reason, and every call says messaging_product whatsapp (property)', () => {
    const actionArb = fc.oneof(
      fc.constantFrom<Action>(
        { sender_action: 'mark_seen' },
        { sender_action: 'typing_on' },
        { sender_action: 'typing_off' },
      ),
      fc
        .record({ text: fc.string({ minLength: 1, maxLength: 2000 }), n: fc.nat({ max: 13 }) })
        .map(({ text: t, n }) => text(t, n === 0 ? undefined : choices(n))),
      fc
        .string({ minLength: 1, maxLength: 8 })
        .map((e): Action => ({ sender_action: 'react', payload: { message_id: 'w', reaction: e } })),
    );
    fc.assert(
      fc.property(
        actionArb,
        fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
        (action, inboundMid) => {
          expect(actionSchema.safeParse(action).success).toBe(true);
          const p = plan(action, { ...target, inboundMid });
          if ('call' in p) expect(p.call.body.messaging_product).toBe('whatsapp');
          if ('call' in p && p.call.body.status === 'read') expect(p.call.body.message_id).toBe(inboundMid);
        },
      ),
    );
  });
});
