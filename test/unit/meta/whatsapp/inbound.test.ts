import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWebhookBody } from '../../../../lib/meta/inbound.ts';
import { inboundEventSchema } from '../../../../lib/queue/inbound.ts';
import { parseJsonBody } from '../../../../lib/webhook/body.ts';

const PHONE_ID = '106540352242922';
const WA_ID = '16505551234';
const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '../../../fixtures/whatsapp/webhooks', name));

/** A Cloud API `messages` webhook (Meta, WhatsApp Cloud API → Webhooks → messages) around `value`. */
const body = (value: Record<string, unknown>, field = 'messages') => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field,
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_ID },
            contacts: [{ profile: { name: 'Sheena' }, wa_id: WA_ID }],
            ...value,
          },
        },
      ],
    },
  ],
});
const message = (
  m: Record<string, unknown>,
  id = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
) => body({ messages: [{ from: WA_ID, id, timestamp: '1749416383', ...m }] });
const only = (json: unknown) => {
  const { events, ignored } = parseWebhookBody(json, 42);
  expect(ignored).toEqual({});
  expect(events).toHaveLength(1);
  expect(inboundEventSchema.safeParse(events[0]).success).toBe(true);
  return events[0]!;
};
const ignoredOf = (json: unknown) => {
  const { events, ignored } = parseWebhookBody(json, 42);
  expect(events).toEqual([]);
  return ignored;
};

describe('WhatsApp webhooks: messages', () => {
  it('reads a text message: account = phone-number id, user = wa_id, event id = wamid, seconds → ms', () => {
    expect(only(message({ type: 'text', text: { body: 'Hi, is the shop open?' } }))).toEqual({
      channel: 'whatsapp',
      kind: 'message',
      pageId: PHONE_ID,
      psid: WA_ID,
      timestamp: 1_749_416_383_000,
      eventId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
      mid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
      text: 'Hi, is the shop open?',
      attachments: [],
    });
  });

  it('reads tapped reply buttons, list rows and template buttons as quick-reply payloads', () => {
    const button = only(
      message({
        type: 'interactive',
        interactive: { type: 'button_reply', button_reply: { id: 'YES', title: 'Yes' } },
      }),
    );
    expect(button).toMatchObject({ kind: 'message', quickReplyPayload: 'YES', text: 'Yes' });
    const row = only(
      message({
        type: 'interactive',
        interactive: { type: 'list_reply', list_reply: { id: 'SIZE_M', title: 'Medium', description: 'M' } },
      }),
    );
    expect(row).toMatchObject({ quickReplyPayload: 'SIZE_M', text: 'Medium' });
    expect(
      only(message({ type: 'button', button: { payload: 'STOP', text: 'Stop promotions' } })),
    ).toMatchObject({ quickReplyPayload: 'STOP', text: 'Stop promotions' });
  });

  it('keeps media types (with a caption as text), locations, contacts and a quoted message', () => {
    const photo = only(
      message({
        type: 'image',
        image: { id: '1479537139650973', mime_type: 'image/jpeg', caption: 'this one' },
      }),
    );
    expect(photo).toMatchObject({ text: 'this one', attachments: [{ type: 'image' }] });
    expect(only(message({ type: 'audio', audio: { id: '1', voice: true } })).attachments).toEqual([
      { type: 'audio' },
    ]);
    expect(only(message({ type: 'sticker', sticker: { id: '1', animated: false } })).text).toBeUndefined();
    expect(only(message({ type: 'location', location: { latitude: 1, longitude: 2 } })).attachments).toEqual([
      { type: 'location' },
    ]);
    const quoted = only(
      message({ type: 'text', text: { body: 'this' }, context: { from: '1555', id: 'wamid.PREV' } }),
    );
    expect(quoted.replyToMid).toBe('wamid.PREV');
  });

  it('reads a reaction and its removal (no emoji) with the reaction wamid as event id', () => {
    const react = only(
      message({ type: 'reaction', reaction: { message_id: 'wamid.OURS', emoji: '👍' } }, 'wamid.R1'),
    );
    expect(react).toMatchObject({
      kind: 'reaction',
      eventId: 'wamid.R1',
      mid: 'wamid.OURS',
      reaction: { action: 'react', emoji: '👍' },
    });
    const removed = only(message({ type: 'reaction', reaction: { message_id: 'wamid.OURS' } }, 'wamid.R2'));
    expect(removed.reaction).toEqual({ action: 'unreact' });
  });

  it('keeps one event per wamid (Meta re-delivers and batches)', () => {
    const m = { from: WA_ID, id: 'wamid.SAME', timestamp: '1749416383', type: 'text', text: { body: 'x' } };
    const { events, ignored } = parseWebhookBody(body({ messages: [m, m] }));
    expect(events).toHaveLength(1);
    expect(ignored).toEqual({ duplicate: 1 });
  });
});

describe('WhatsApp webhooks: what is never answered', () => {
  it.each([
    ['group message', { group_id: 'G1', type: 'text', text: { body: 'hi all' } }, 'group_message'],
    [
      'a business-scoped id of the wrong shape',
      { from_user_id: '+1 555 0100', type: 'text', text: { body: 'x' } },
      'malformed_sender',
    ],
    ['no sender', { from: undefined, type: 'text', text: { body: 'x' } }, 'no_sender'],
    ['empty text', { type: 'text', text: { body: '' } }, 'empty_message'],
    ['system message', { type: 'system', system: { body: 'changed number' } }, 'whatsapp_system'],
    ['unsupported message', { type: 'unsupported', errors: [{ code: 131051 }] }, 'whatsapp_unsupported'],
    ['an unknown type', { type: 'order', order: {} }, 'unknown_event'],
    [
      'a flow reply',
      { type: 'interactive', interactive: { type: 'nfm_reply', nfm_reply: {} } },
      'unsupported_message',
    ],
    ['a reaction without message_id', { type: 'reaction', reaction: { emoji: 'x' } }, 'malformed_reaction'],
    ['no type', { type: undefined }, 'malformed_message'],
  ])('%s', (_name, m, reason) => {
    expect(ignoredOf(message(m))).toEqual({ [reason]: 1 });
  });

  it('counts statuses (failed ones apart), errors and other fields, and answers none', () => {
    const statuses = [
      { id: 'wamid.A', status: 'delivered', timestamp: '1', recipient_id: WA_ID },
      { id: 'wamid.B', status: 'failed', timestamp: '1', recipient_id: WA_ID, errors: [{ code: 131047 }] },
    ];
    expect(ignoredOf(body({ statuses, errors: [{ code: 131000 }] }))).toEqual({
      status: 1,
      status_failed: 1,
      whatsapp_error: 1,
    });
    expect(ignoredOf(body({ event: 'APPROVED' }, 'message_template_status_update'))).toEqual({ changes: 1 });
    expect(ignoredOf(body({ metadata: {}, messages: [{ from: WA_ID, id: 'w', type: 'text' }] }))).toEqual({
      malformed_recipient: 1,
    });
  });

  it('reads the real bodies in test/fixtures/whatsapp (see SOURCES.md)', () => {
    const decode = (name: string) => {
      const decoded = parseJsonBody(fixture(name));
      if (!decoded.ok) throw new Error(decoded.reason);
      return decoded.json;
    };
    expect(only(decode('text-gist.json'))).toMatchObject({
      channel: 'whatsapp',
      pageId: '***',
      psid: '****',
      text: 'Hello this is an answer form github',
    });
    expect(ignoredOf(decode('status-failed-131047.wrapped.json'))).toEqual({ status_failed: 1 });
  });

  it('never throws and only returns schema-valid events, whatever the value (property)', () => {
    const messageArb = fc.oneof(
      fc.anything(),
      fc.record({
        from: fc.oneof(fc.string(), fc.integer(), fc.anything()),
        id: fc.oneof(fc.string(), fc.anything()),
        timestamp: fc.oneof(fc.string(), fc.integer(), fc.anything()),
        type: fc.constantFrom(
          'text',
          'interactive',
          'button',
          'image',
          'reaction',
          'location',
          'system',
          'x',
        ),
        text: fc.anything(),
        interactive: fc.anything(),
        button: fc.anything(),
        image: fc.anything(),
        reaction: fc.anything(),
      }),
    );
    fc.assert(
      fc.property(fc.array(messageArb), fc.anything(), (messages, metadata) => {
        for (const json of [body({ messages }), body({ messages, metadata })]) {
          const { events } = parseWebhookBody(json, 1);
          for (const e of events) expect(inboundEventSchema.safeParse(e).success).toBe(true);
          expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
        }
      }),
    );
  });
});
