/**
 * Messenger webhook items at their edges (lib/meta/messenger/messaging.ts): the loop guard on each of its two
 * ids, and the reasons an item is not answered. Written for the mutants Stryker found alive there
 * (docs/mutation.md); the general rules are in test/unit/meta/inbound.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseWebhookBody } from '../../../../lib/meta/inbound.ts';
import { inboundEventSchema } from '../../../../lib/queue/inbound.ts';

const PAGE = '104857600000001';
const OTHER_PAGE = '104857600000002';
const USER = '6789012345678901';
const T = 1_700_000_000_123;

const say = (sender: unknown, recipient: unknown) => ({
  sender,
  recipient,
  timestamp: T,
  message: { mid: 'm_edge', text: 'hi' },
});
const parse = (entryId: string | undefined, ...messaging: unknown[]) =>
  parseWebhookBody({ object: 'page', entry: [{ ...(entryId && { id: entryId }), time: T, messaging }] }, 42);

describe('the loop guard: the page never answers itself', () => {
  // Meta, Webhook events "message_echoes": a page's own messages come back; answering them loops forever.
  it('when the sender is the recipient page, whatever the entry says', () => {
    expect(parse(OTHER_PAGE, say({ id: PAGE }, { id: PAGE }))).toEqual({
      events: [],
      ignored: { sender_is_page: 1 },
    });
  });

  it("when the sender is the entry's page, whatever the recipient says", () => {
    expect(parse(PAGE, say({ id: PAGE }, { id: OTHER_PAGE }))).toEqual({
      events: [],
      ignored: { sender_is_page: 1 },
    });
  });

  it('answers a user writing to the page', () => {
    expect(parse(PAGE, say({ id: USER }, { id: PAGE })).events).toMatchObject([{ psid: USER, pageId: PAGE }]);
  });
});

describe('reasons a Messenger item is not answered', () => {
  it.each([
    ['a null sender', say(null, { id: PAGE }), PAGE, 'no_sender'],
    [
      'a user_ref that cannot be an id',
      say({ user_ref: 'has spaces in it' }, { id: PAGE }),
      PAGE,
      'malformed_sender',
    ],
    ['no page on the item or the entry', say({ id: USER }, undefined), undefined, 'malformed_recipient'],
    [
      'a postback that is not an object',
      { ...say({ id: USER }, { id: PAGE }), message: undefined, postback: 'x' },
      PAGE,
      'malformed_postback',
    ],
    [
      'an opt-in that is not an object',
      { ...say({ id: USER }, { id: PAGE }), message: undefined, optin: 'x' },
      PAGE,
      'malformed_optin',
    ],
    [
      'a referral that is not an object',
      { ...say({ id: USER }, { id: PAGE }), message: undefined, referral: 'x' },
      PAGE,
      'malformed_referral',
    ],
  ])('%s', (_name, item, entryId, reason) => {
    expect(parse(entryId, item)).toEqual({ events: [], ignored: { [reason]: 1 } });
  });
});

describe('empty strings Meta may send', () => {
  const message = (m: Record<string, unknown>) => ({ ...say({ id: USER }, { id: PAGE }), message: m });

  it('drops an empty text and an empty attachment url, so the event still fits the queue schema', () => {
    const photo = message({
      mid: 'm_photo',
      text: '',
      attachments: [{ type: 'image', payload: { url: '' }, url: 'https://cdn.example/a.jpg' }],
    });
    const [event] = parse(PAGE, photo).events;
    expect(event).toEqual({
      channel: 'messenger',
      kind: 'message',
      pageId: PAGE,
      psid: USER,
      timestamp: T,
      eventId: 'm_photo',
      mid: 'm_photo',
      attachments: [{ type: 'image', url: 'https://cdn.example/a.jpg' }],
    });
    expect(inboundEventSchema.safeParse(event).success).toBe(true);
  });

  it('treats an empty mid as none: the event gets a hashed id and no mid', () => {
    const [event] = parse(PAGE, message({ mid: '', text: 'hi' })).events;
    expect(event?.eventId).toMatch(/^h_[0-9a-f]{64}$/);
    expect(event && 'mid' in event).toBe(false);
    expect(inboundEventSchema.safeParse(event).success).toBe(true);
  });
});
