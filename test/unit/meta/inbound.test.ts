import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeProblem, parseWebhookBody } from '../../../lib/meta/inbound.ts';
import { inboundEventSchema } from '../../../lib/queue/inbound.ts';
import { graphRecipientOf } from '../../../lib/queue/recipient.ts';
import { parseJsonBody } from '../../../lib/webhook/body.ts';

const PAGE = '104857600000001';
const USER = '6789012345678901';
const T = 1_700_000_000_123;

const item = (event: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  sender: { id: USER },
  recipient: { id: PAGE },
  timestamp: T,
  ...event,
  ...extra,
});
const body = (...messaging: unknown[]) => ({ object: 'page', entry: [{ id: PAGE, time: T, messaging }] });
const parse = (json: unknown) => parseWebhookBody(json, 42);
const only = (json: unknown) => {
  const { events, ignored } = parse(json);
  expect(ignored).toEqual({});
  expect(events).toHaveLength(1);
  expect(inboundEventSchema.safeParse(events[0]).success).toBe(true);
  return events[0]!;
};
const text = (t: string, mid = 'm_abc') => item({ message: { mid, seq: 1, text: t } });

describe('parseWebhookBody: event kinds', () => {
  it('reads a text message with its mid as event id', () => {
    expect(only(body(text('Hello there')))).toEqual({
      channel: 'messenger',
      kind: 'message',
      pageId: PAGE,
      psid: USER,
      timestamp: T,
      eventId: 'm_abc',
      mid: 'm_abc',
      text: 'Hello there',
      attachments: [],
    });
  });

  it('reads a quick reply without text, a reply_to and NLP blocks', () => {
    const qr = only(body(item({ message: { mid: 'm_q', quick_reply: { payload: 'RED' } } })));
    expect(qr).toMatchObject({ kind: 'message', quickReplyPayload: 'RED' });
    expect(qr.text).toBeUndefined();
    const reply = only(
      body(
        item({
          message: {
            mid: 'm_r',
            text: 'yes',
            reply_to: { mid: 'm_prev' },
            nlp: { entities: { greetings: [{ confidence: 0.99, value: 'true' }] } },
          },
        }),
      ),
    );
    expect(reply).toMatchObject({ text: 'yes', replyToMid: 'm_prev' });
  });

  it('reads classic attachments, stickers, locations and fallback shares (url from payload or attachment)', () => {
    const e = only(
      body(
        item({
          message: {
            mid: 'm_att',
            sticker_id: 369239263222822,
            attachments: [
              { type: 'image', payload: { url: 'https://cdn.example/a.png', sticker_id: 369239263222822 } },
              { type: 'location', payload: { coordinates: { lat: 0, long: 0 } } },
              { type: 'fallback', payload: null, title: 'A page', URL: 'https://example.com/x' },
              { type: 'ig_reel', payload: { url: '/reel/1/', reel_video_id: 1 } },
              { type: 'like_heart' },
              { payload: { url: 'https://no-type' } },
            ],
          },
        }),
      ),
    );
    expect(e.attachments).toEqual([
      { type: 'sticker', url: 'https://cdn.example/a.png' },
      { type: 'location' },
      { type: 'fallback', url: 'https://example.com/x' },
      { type: 'ig_reel', url: '/reel/1/' },
      { type: 'like_heart' },
    ]);
  });

  it('reads a postback with title, payload, optional mid and referral', () => {
    const withMid = only(
      body(
        item({
          postback: {
            mid: 'm_pb',
            title: 'Get Started',
            payload: 'GET_STARTED',
            referral: { ref: 'ad1', source: 'ADS', type: 'OPEN_THREAD', ad_id: '9' },
          },
        }),
      ),
    );
    expect(withMid).toMatchObject({
      kind: 'postback',
      eventId: 'm_pb',
      mid: 'm_pb',
      postback: { title: 'Get Started', payload: 'GET_STARTED' },
      referral: { ref: 'ad1', source: 'ADS', type: 'OPEN_THREAD' },
    });
    const payloadOnly = only(body(item({ postback: { payload: 'P', title: null } })));
    expect(payloadOnly.postback).toEqual({ payload: 'P' });
    expect(payloadOnly.eventId).toMatch(/^h_[0-9a-f]{64}$/);
  });

  it('reads a reaction but never uses the reacted mid as its event id', () => {
    const e = only(body(item({ reaction: { reaction: 'love', emoji: '❤️', action: 'react', mid: 'm_abc' } })));
    expect(e).toMatchObject({
      kind: 'reaction',
      mid: 'm_abc',
      reaction: { action: 'react', reaction: 'love', emoji: '❤️' },
    });
    expect(e.eventId).not.toBe('m_abc');
    const unreact = only(
      body(item({ reaction: { reaction: 'love', emoji: '❤️', action: 'unreact', mid: 'm_abc' } })),
    );
    expect(unreact.eventId).not.toBe(e.eventId);
  });

  it('reads opt-ins and referrals', () => {
    expect(
      only(body(item({ optin: { ref: 'PASS', type: 'notification_messages', payload: 'x' } }))),
    ).toMatchObject({ kind: 'optin', optin: { ref: 'PASS', type: 'notification_messages' } });
    expect(
      only(
        body(item({ referral: { ref: 'r', source: 'SHORTLINK', type: 'OPEN_THREAD', origin_domain: 'x' } })),
      ),
    ).toMatchObject({ kind: 'referral', referral: { ref: 'r', source: 'SHORTLINK', type: 'OPEN_THREAD' } });
  });

  it('gives a user_ref sender (chat plugin guest) a psid that Graph addresses as recipient.user_ref', () => {
    const e = only(body(item({ postback: { payload: 'P' } }, { sender: { user_ref: 'guest-42' } })));
    expect(e.psid).toBe('user_ref:guest-42');
    expect(graphRecipientOf(e.psid)).toEqual({ user_ref: 'guest-42' });
    expect(graphRecipientOf(USER)).toEqual({ id: USER });
    // When both are present the PSID wins.
    expect(
      only(body(item({ postback: { payload: 'P' } }, { sender: { id: USER, user_ref: 'g' } }))).psid,
    ).toBe(USER);
  });
});

describe('parseWebhookBody: what is never answered', () => {
  it.each([
    ['echo', item({ message: { is_echo: true, app_id: 1, mid: 'm_e', text: 'ours' } }), 'echo'],
    ['read', item({ read: { watermark: T } }), 'read'],
    ['delivery', item({ delivery: { mids: ['m_1'], watermark: T } }), 'delivery'],
    ['edit', item({ message_edit: { mid: 'm_1', text: 'x', num_edit: 1 } }), 'message_edit'],
    ['handover', item({ pass_thread_control: { new_owner_app_id: 1 } }), 'handover'],
    [
      'policy',
      { recipient: { id: PAGE }, timestamp: T, 'policy-enforcement': { action: 'block' } },
      'policy_enforcement',
    ],
    ['unsent', item({ message: { mid: 'm_d', is_deleted: true } }), 'message_deleted'],
    ['unknown key', item({ SOMETHING_NEW: { mid: 'm_1' } }), 'unknown_event'],
    ['no event', item({}), 'unknown_event'],
    ['no sender', { recipient: { id: PAGE }, timestamp: T, optin: { ref: 'x', user_ref: 'u' } }, 'no_sender'],
    ['bare string sender', item({ message: { text: 'hi' } }, { sender: '12345' }), 'malformed_sender'],
    ['bare number sender', item({ message: { text: 'hi' } }, { sender: 12345 }), 'malformed_sender'],
    [
      'unsafe numeric id',
      item({ message: { text: 'hi' } }, { sender: { id: 2 ** 53 + 2 } }),
      'malformed_sender',
    ],
    [
      'page talking to itself',
      item({ message: { mid: 'm', text: 'hi' } }, { sender: { id: PAGE } }),
      'sender_is_page',
    ],
    ['empty message', item({ message: { mid: 'm' } }), 'empty_message'],
    ['text of the wrong type', item({ message: { mid: 'm', text: 5 } }), 'malformed_message'],
    ['reaction without action', item({ reaction: { emoji: 'x' } }), 'malformed_reaction'],
    ['junk item', 'junk', 'malformed_item'],
  ])('%s', (_name, messagingItem, reason) => {
    expect(parse(body(messagingItem))).toEqual({ events: [], ignored: { [reason]: 1 } });
  });

  it('counts standby and changes items but answers only the messaging ones next to them', () => {
    const json = {
      object: 'page',
      entry: [
        {
          id: PAGE,
          time: T,
          standby: [item({ message: { mid: 'm_s', text: 'other app' } }), { sender: { id: 'u2' } }],
          changes: [{ field: 'messages', value: { page_id: PAGE } }],
          messaging: [text('mine')],
        },
      ],
    };
    const { events, ignored } = parse(json);
    expect(events.map((e) => e.text)).toEqual(['mine']);
    expect(ignored).toEqual({ standby: 2, changes: 1 });
  });

  it('keeps one event per mid within a body (Meta batches re-deliveries)', () => {
    const { events, ignored } = parse({
      object: 'page',
      entry: [
        { id: PAGE, messaging: [text('Hello', 'same')] },
        { id: PAGE, messaging: [text('Hello', 'same')] },
      ],
    });
    expect(events).toHaveLength(1);
    expect(ignored).toEqual({ duplicate: 1 });
  });

  it('survives an empty entry list, entries without messaging and malformed entries', () => {
    expect(parse({ object: 'page', entry: [] })).toEqual({ events: [], ignored: {} });
    expect(parse({ object: 'page' })).toEqual({ events: [], ignored: {} });
    expect(parse({ object: 'page', entry: [{ id: PAGE }, 7, { messaging: {} }] }).ignored).toEqual({
      malformed_entry: 2,
    });
  });

  it('skips one malformed item and keeps the others', () => {
    const { events, ignored } = parse(
      body({ ...text('bad', 'm0'), sender: 'x' }, text('a', 'm1'), null, text('b', 'm2')),
    );
    expect(events.map((e) => e.text)).toEqual(['a', 'b']);
    expect(ignored).toEqual({ malformed_sender: 1, malformed_item: 1 });
  });
});

describe('parseWebhookBody: timestamps and ids', () => {
  it('normalises string, float and second timestamps to epoch ms', () => {
    const at = (timestamp: unknown) =>
      only(body(item({ message: { mid: 'm', text: 'x' } }, { timestamp }))).timestamp;
    expect(at('1458668856463')).toBe(1458668856463);
    expect(at(1492414608982.0)).toBe(1492414608982);
    expect(at(1701599111)).toBe(1701599111000);
  });

  it('falls back to entry.time, then to the receive time, for events without a timestamp', () => {
    const e1 = only({
      object: 'page',
      entry: [{ id: PAGE, time: T, messaging: [{ ...text('x'), timestamp: undefined }] }],
    });
    expect(e1.timestamp).toBe(T);
    const e2 = only({
      object: 'page',
      entry: [{ id: PAGE, messaging: [{ ...text('x'), timestamp: undefined }] }],
    });
    expect(e2.timestamp).toBe(42);
  });

  it('hashes events without a mid so a re-delivery gets the same id and different events differ', () => {
    const hi = (timestamp: number, t = 'hi') => body(item({ message: { text: t } }, { timestamp }));
    const a = only(hi(T)).eventId;
    expect(parseWebhookBody(hi(T), 1).events[0]!.eventId).toBe(a);
    expect(parseWebhookBody(hi(T), 999).events[0]!.eventId).toBe(a);
    expect(only(hi(T + 1)).eventId).not.toBe(a);
    expect(only(hi(T, 'ho')).eventId).not.toBe(a);
  });

  it('hashes mids that cannot be a sequence id as-is (too long or not printable ASCII)', () => {
    expect(only(body(text('x', 'm'.repeat(300)))).eventId).toMatch(/^h_[0-9a-f]{64}$/);
    expect(only(body(text('x', 'mid with spaces'))).eventId).toMatch(/^h_[0-9a-f]{64}$/);
  });

  it('accepts safe numeric ids and keeps ids above 2^53 exact when they arrive through parseJsonBody', () => {
    expect(
      only(body(item({ message: { mid: 'm', text: 'x' } }, { sender: { id: 1423587017700273 } }))).psid,
    ).toBe('1423587017700273');
    const raw = `{"object":"page","entry":[{"id":"${PAGE}","messaging":[{"sender":{"id":10105655000959553},"recipient":{"id":"${PAGE}"},"timestamp":${T},"message":{"mid":"m","text":"x"}}]}]}`;
    const decoded = parseJsonBody(new TextEncoder().encode(raw));
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(only(decoded.json).psid).toBe('10105655000959553');
  });

  it('uses recipient.id as the page (not entry.id) and entry.id when recipient is missing', () => {
    const e = only({ object: 'page', entry: [{ id: 'other-entry', messaging: [text('x')] }] });
    expect(e.pageId).toBe(PAGE);
    const noRecipient = only(body({ ...text('x'), recipient: undefined }));
    expect(noRecipient.pageId).toBe(PAGE);
  });
});

describe('parseJsonBody and envelopeProblem', () => {
  it('rejects empty, non-UTF-8 and non-JSON bodies without echoing them', () => {
    expect(parseJsonBody(new Uint8Array())).toEqual({ ok: false, reason: 'body is empty' });
    expect(parseJsonBody(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual({
      ok: false,
      reason: 'body is not valid UTF-8',
    });
    expect(parseJsonBody(new TextEncoder().encode('{"secret-ish": '))).toEqual({
      ok: false,
      reason: 'body is not valid JSON',
    });
  });

  it('names what is wrong with a body that is not a page webhook', () => {
    expect(envelopeProblem([])).toBe('body must be a JSON object');
    expect(envelopeProblem({ object: 'instagram', entry: [] })).toBeUndefined();
    expect(envelopeProblem({ object: 'user', entry: [] })).toMatch(/^field "object" must be "page" or /);
    expect(envelopeProblem({ field: 'messages', value: {} })).toMatch(/^field "object" must be "page" or /);
    expect(envelopeProblem({ object: 'page', entry: {} })).toBe('field "entry" must be an array');
    expect(envelopeProblem({ object: 'page', entry: [] })).toBeUndefined();
  });

  it('never throws and only returns schema-valid events, whatever the JSON (property)', () => {
    const messagingItem = fc.oneof(
      fc.anything(),
      fc.record({
        sender: fc.oneof(fc.anything(), fc.record({ id: fc.oneof(fc.string(), fc.integer()) })),
        recipient: fc.oneof(fc.anything(), fc.record({ id: fc.string() })),
        timestamp: fc.oneof(fc.anything(), fc.integer(), fc.string()),
        message: fc.anything(),
      }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({ object: fc.constant('page'), entry: fc.array(fc.anything()) }),
          fc.record({
            object: fc.constant('page'),
            entry: fc.array(fc.record({ id: fc.anything(), messaging: fc.array(messagingItem) })),
          }),
        ),
        (json) => {
          const { events } = parseWebhookBody(json, 1);
          for (const e of events) expect(inboundEventSchema.safeParse(e).success).toBe(true);
          expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
        },
      ),
    );
  });
});
