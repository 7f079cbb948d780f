/**
 * WhatsApp interactive messages at Meta's limits (Cloud API → Messages → interactive: body text 1024, 3 reply
 * buttons with ids ≤ 256, list rows with ids ≤ 200 and titles ≤ 24): a reply within them is sent as the user
 * should see it, one past them is refused with a reason instead of a Graph 400 after the typing. Written
 * for the mutants Stryker found alive in lib/meta/whatsapp/outbound.ts (docs/mutation.md).
 */
import { describe, expect, it } from 'vitest';
import { channelShapeOf } from '../../../../lib/meta/outbound.ts';
import type { SendTarget } from '../../../../lib/meta/outbound-shape.ts';
import type { Action } from '../../../../lib/queue/step.ts';

const whatsapp = channelShapeOf('whatsapp');
const target: SendTarget = {
  channel: 'whatsapp',
  pageId: '106540352242922',
  psid: '16505551234',
  inboundMid: 'wamid.IN',
};
const plan = (action: Action, t: SendTarget = target) => whatsapp.requestFor(t, action);
const ask = (text: string, replies: { title: string; payload: string }[]): Action => ({
  message: { text, quick_replies: replies.map((r) => ({ content_type: 'text' as const, ...r })) },
});
const choices = (n: number, over: Partial<{ title: string; payload: string }> = {}) =>
  Array.from({ length: n }, (_, i) => ({ title: `Choice ${i}`, payload: `P${i}`, ...over }));
const interactiveOf = (action: Action) => {
  const p = plan(action);
  if (!('call' in p)) throw new Error(`no call: ${JSON.stringify(p)}`);
  return (p.call.body as { interactive: { type: string; body: { text: string } } }).interactive;
};

describe('WhatsApp interactive limits', () => {
  it('sends a body of exactly 1024 characters, and refuses 1025 naming the limit', () => {
    expect(interactiveOf(ask('x'.repeat(1024), choices(2))).body.text).toHaveLength(1024);
    expect(plan(ask('x'.repeat(1025), choices(2)))).toEqual({ unsupported: expect.stringContaining('1024') });
  });

  it('sends reply-button ids of exactly 256 characters, and refuses 257 naming the limit', () => {
    expect(interactiveOf(ask('Pick', choices(2, { payload: 'p'.repeat(256) }))).type).toBe('button');
    const one = [...choices(1), { title: 'Long', payload: 'p'.repeat(257) }];
    expect(plan(ask('Pick', one))).toEqual({ unsupported: expect.stringContaining('256') });
  });

  it('sends list-row ids of exactly 200 characters and titles of 24, and refuses one past either', () => {
    const list = interactiveOf(ask('Pick', choices(4, { payload: 'p'.repeat(200) })));
    expect(list).toMatchObject({ type: 'list', body: { text: 'Pick' } });
    expect(interactiveOf(ask('Pick', choices(4, { title: 't'.repeat(24) }))).type).toBe('list');
    // The step schema caps titles at 20 (Messenger's limit); the shape still holds WhatsApp's own.
    for (const over of [{ payload: 'p'.repeat(201) }, { title: 't'.repeat(25) }]) {
      const rows = [...choices(3), { ...choices(1)[0]!, ...over }];
      expect(plan(ask('Pick', rows))).toEqual({ unsupported: expect.stringContaining('too long') });
    }
  });

  it('refuses what WhatsApp cannot show, saying what', () => {
    const phone: Action = {
      message: { text: 'number?', quick_replies: [{ content_type: 'user_phone_number' }] },
    };
    expect(plan(phone)).toEqual({ unsupported: expect.stringContaining('phone or email') });
    const photoWithButtons: Action = {
      message: {
        attachment: { type: 'image', payload: { url: 'https://example.com/a.png' } },
        quick_replies: [{ content_type: 'text', title: 'Yes', payload: 'Y' }],
      },
    };
    expect(plan(photoWithButtons)).toEqual({ unsupported: expect.stringContaining('attachment') });
  });
});

describe('WhatsApp indicators without a call', () => {
  it('says why each indicator makes no call', () => {
    expect(plan({ sender_action: 'mark_seen' })).toEqual({
      skip: 'whatsapp marks read together with typing',
    });
    expect(plan({ sender_action: 'typing_off' })).toEqual({ skip: 'whatsapp has no typing_off' });
    const { inboundMid: _none, ...noInbound } = target;
    expect(plan({ sender_action: 'typing_on' }, noInbound)).toEqual({
      skip: 'no inbound message to show typing on',
    });
  });
});
