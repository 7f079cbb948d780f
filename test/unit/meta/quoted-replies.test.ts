/**
 * Quoted replies, per channel (docs/takeover.md): the message step's `quote` becomes Messenger's top-level
 * `reply_to: {mid}`, WhatsApp's `context: {message_id}`, and nothing on Instagram (its Send a Message page
 * documents none); a step without one sends no quote field at all.
 */
import { describe, expect, it } from 'vitest';
import { channelShapeOf } from '../../../lib/meta/outbound.ts';
import type { ChannelPlan } from '../../../lib/meta/outbound-shape.ts';
import type { Channel } from '../../../lib/queue/recipient.ts';
import { type Action, actionSchema } from '../../../lib/queue/step.ts';

const quoted: Action = {
  message: { text: 'It ships Friday.' },
  quote: { mid: 'm_OLDER', at: 1_800_000_000_000 },
};
const plain: Action = { message: { text: 'It ships Friday.' } };

const bodyOf = (channel: Channel, action: Action): Record<string, unknown> => {
  const target = { channel, pageId: '1200', psid: channel === 'whatsapp' ? '15551234567' : '7100' };
  const planned: ChannelPlan = channelShapeOf(channel).requestFor(target, action);
  if (!('call' in planned)) throw new Error(`no call: ${JSON.stringify(planned)}`);
  return planned.call.body;
};

describe('quoted replies', () => {
  it('the quote is part of the queued action (optional: older bodies still decode)', () => {
    expect(actionSchema.safeParse(quoted).success).toBe(true);
    expect(actionSchema.safeParse(plain).success).toBe(true);
    expect(actionSchema.safeParse({ ...plain, quote: { mid: '', at: 1 } }).success).toBe(false);
  });

  it('Messenger: reply_to {mid} beside the message, never inside it', () => {
    const body = bodyOf('messenger', quoted);
    expect(body.reply_to).toEqual({ mid: 'm_OLDER' });
    expect(body.message).toEqual({ text: 'It ships Friday.' });
    expect(body).not.toHaveProperty('quote');
    expect(bodyOf('messenger', plain)).not.toHaveProperty('reply_to');
  });

  it('WhatsApp: context {message_id} on the message', () => {
    const body = bodyOf('whatsapp', quoted);
    expect(body.context).toEqual({ message_id: 'm_OLDER' });
    expect(body.type).toBe('text');
    expect(body).not.toHaveProperty('quote');
    expect(bodyOf('whatsapp', plain)).not.toHaveProperty('context');
  });

  it('Instagram: sent unquoted', () => {
    const body = bodyOf('instagram', quoted);
    expect(body).not.toHaveProperty('reply_to');
    expect(body).not.toHaveProperty('quote');
    expect(body.message).toEqual({ text: 'It ships Friday.' });
  });
});
