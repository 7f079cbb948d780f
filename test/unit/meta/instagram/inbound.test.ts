import { describe, expect, it } from 'vitest';
import { parseWebhookBody } from '../../../../lib/meta/inbound.ts';

const IG_ACCOUNT = '17841400000000001';
const IGSID = '6543210987654321';
const T = 1_700_000_000_123;

/** An Instagram Messaging webhook (Meta, Instagram Messaging → Webhooks): the Messenger `messaging[]` shape. */
const body = (...messaging: unknown[]) => ({
  object: 'instagram',
  entry: [{ id: IG_ACCOUNT, time: T, messaging }],
});
const item = (event: Record<string, unknown>, sender = IGSID) => ({
  sender: { id: sender },
  recipient: { id: IG_ACCOUNT },
  timestamp: T,
  ...event,
});

describe('Instagram webhooks', () => {
  it('reads a DM as an Instagram event of the Instagram account', () => {
    const { events, ignored } = parseWebhookBody(body(item({ message: { mid: 'aWdfZAG1', text: 'hey' } })));
    expect(ignored).toEqual({});
    expect(events).toEqual([
      {
        channel: 'instagram',
        kind: 'message',
        pageId: IG_ACCOUNT,
        psid: IGSID,
        timestamp: T,
        eventId: 'aWdfZAG1',
        mid: 'aWdfZAG1',
        text: 'hey',
        attachments: [],
      },
    ]);
  });

  it('keeps story mentions, shared reels and the like-heart sticker as typed attachments', () => {
    const { events } = parseWebhookBody(
      body(
        item({
          message: {
            mid: 'm1',
            attachments: [{ type: 'story_mention', payload: { url: 'https://lookaside.fbsbx.com/s' } }],
          },
        }),
        item({
          message: {
            mid: 'm2',
            attachments: [{ type: 'ig_reel', payload: { reel_video_id: '1', title: 't', url: 'https://r' } }],
          },
        }),
        item({ message: { mid: 'm3', attachments: [{ type: 'like_heart' }] } }),
      ),
    );
    expect(events.map((e) => e.attachments)).toEqual([
      [{ type: 'story_mention', url: 'https://lookaside.fbsbx.com/s' }],
      [{ type: 'ig_reel', url: 'https://r' }],
      [{ type: 'like_heart' }],
    ]);
  });

  it('reads reactions and ice-breaker postbacks', () => {
    const { events } = parseWebhookBody(
      body(
        item({ reaction: { mid: 'm_ours', action: 'react', reaction: 'love', emoji: '❤️' } }),
        item({ postback: { mid: 'p1', title: 'Opening hours?', payload: 'HOURS' } }),
      ),
    );
    expect(events.map((e) => [e.channel, e.kind])).toEqual([
      ['instagram', 'reaction'],
      ['instagram', 'postback'],
    ]);
  });

  it('never answers echoes, unsent messages or the account writing to itself', () => {
    const { events, ignored } = parseWebhookBody(
      body(
        item({ message: { mid: 'e1', text: 'ours', is_echo: true } }, IG_ACCOUNT),
        item({ message: { mid: 'd1', is_deleted: true } }),
        item({ message: { mid: 's1', text: 'self' } }, IG_ACCOUNT),
        item({ read: { mid: 'm1' } }),
      ),
    );
    expect(events).toEqual([]);
    expect(ignored).toEqual({ echo: 1, message_deleted: 1, sender_is_page: 1, read: 1 });
  });
});
