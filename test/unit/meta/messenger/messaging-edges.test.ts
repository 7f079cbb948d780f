/**
 * Messenger webhook items at their edges (lib/meta/messenger/messaging.ts): the loop guard on each of its two
 * ids, and the reasons an item is not answered. Written for the mutants Stryker found alive there
 * (docs/mutation.md); the general rules are in test/unit/meta/inbound.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseWebhookBody } from '../../../../lib/meta/inbound.ts';

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
  ])('%s', (_name, item, entryId, reason) => {
    expect(parse(entryId, item)).toEqual({ events: [], ignored: { [reason]: 1 } });
  });
});
