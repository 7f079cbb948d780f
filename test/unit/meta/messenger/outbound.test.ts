/**
 * Messenger Send API bodies and success answers (lib/meta/messenger/outbound.ts; Meta, Send API reference:
 * a send answers `{recipient_id, message_id}`, a sender action `{recipient_id}`). A 200 without recipient_id
 * is not a send we can count on. Written for the mutants Stryker found alive there (docs/mutation.md).
 */
import { describe, expect, it } from 'vitest';
import { channelShapeOf } from '../../../../lib/meta/outbound.ts';

const messenger = channelShapeOf('messenger');
const target = { channel: 'messenger' as const, pageId: '104857600000001', psid: '6789012345678901' };

describe('Messenger success bodies', () => {
  it('takes a body naming the recipient as sent, and nothing else', () => {
    expect(messenger.isExpectedSuccess({ recipient_id: target.psid, message_id: 'm_1' })).toBe(true);
    expect(messenger.isExpectedSuccess({ recipient_id: target.psid })).toBe(true);
    expect(messenger.isExpectedSuccess({})).toBe(false);
    expect(messenger.isExpectedSuccess({ success: true })).toBe(false);
  });
});

describe('Messenger request bodies', () => {
  it('sends a reaction with its payload and an indicator with none', () => {
    const react = messenger.requestFor(target, {
      sender_action: 'react',
      payload: { message_id: 'm_1', reaction: 'love' },
    });
    expect(react).toEqual({
      call: {
        node: target.pageId,
        body: {
          recipient: { id: target.psid },
          sender_action: 'react',
          payload: { message_id: 'm_1', reaction: 'love' },
        },
      },
    });
    const typing = messenger.requestFor(target, { sender_action: 'typing_on' });
    expect(JSON.stringify(typing)).toBe(
      JSON.stringify({
        call: { node: target.pageId, body: { recipient: { id: target.psid }, sender_action: 'typing_on' } },
      }),
    );
  });
});
