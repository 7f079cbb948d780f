/**
 * WhatsApp webhook items at their edges: each odd shape is answered, ignored for a named reason, or counted
 * malformed, never a crash and never a silent loss (Meta, WhatsApp Cloud API → Webhooks → messages).
 * Written for the mutants Stryker found alive in lib/meta/whatsapp/inbound.ts (docs/mutation.md).
 */
import { describe, expect, it } from 'vitest';
import { parseWebhookBody } from '../../../../lib/meta/inbound.ts';

const PHONE_ID = '106540352242922';
const WA_ID = '16505551234';
const changeOf = (value: Record<string, unknown>) => ({
  field: 'messages',
  value: {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_ID },
    ...value,
  },
});
const bodyWith = (entry: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: '102290129340398', ...entry }],
});
const messageBody = (m: Record<string, unknown>) =>
  bodyWith({
    changes: [changeOf({ messages: [{ from: WA_ID, id: 'wamid.EDGE', timestamp: '1749416383', ...m }] })],
  });
const parse = (json: unknown) => parseWebhookBody(json, 42);

describe('WhatsApp message contents', () => {
  it('ignores a text message without a text object as empty', () => {
    expect(parse(messageBody({ type: 'text' }))).toEqual({ events: [], ignored: { empty_message: 1 } });
    expect(parse(messageBody({ type: 'text', text: 'not an object' })).ignored).toEqual({ empty_message: 1 });
  });

  it('counts an interactive message without its interactive object as malformed', () => {
    expect(parse(messageBody({ type: 'interactive', interactive: 'x' }))).toEqual({
      events: [],
      ignored: { malformed_message: 1 },
    });
  });

  it('reads a template button tap, and counts one without a payload as malformed', () => {
    const tap = parse(
      messageBody({ type: 'button', button: { payload: 'TRACK_ORDER', text: 'Track order' } }),
    );
    expect(tap.events[0]).toMatchObject({ quickReplyPayload: 'TRACK_ORDER', text: 'Track order' });
    for (const button of [undefined, { text: 'Track order' }, { payload: '' }]) {
      expect(parse(messageBody({ type: 'button', button })).ignored).toEqual({ malformed_message: 1 });
    }
  });

  it('keeps a media caption as the text, and only a caption that says something', () => {
    const withCaption = parse(messageBody({ type: 'image', image: { id: 'MEDIA1', caption: 'my receipt' } }));
    expect(withCaption.events[0]).toMatchObject({ text: 'my receipt', attachments: [{ type: 'image' }] });
    for (const image of [{ id: 'MEDIA1', caption: '' }, { id: 'MEDIA1', caption: 42 }, 'MEDIA1']) {
      const [event] = parse(messageBody({ type: 'image', image })).events;
      expect(event).toMatchObject({ attachments: [{ type: 'image' }] });
      expect(event?.text).toBeUndefined();
    }
  });

  it('keeps shared contacts as an attachment the responder can see', () => {
    expect(
      parse(messageBody({ type: 'contacts', contacts: [{ name: { formatted_name: 'A' } }] })).events[0],
    ).toMatchObject({
      kind: 'message',
      attachments: [{ type: 'contacts' }],
    });
  });
});

describe('WhatsApp items that are not messages we can answer', () => {
  it('names the reason: a non-object item, a message without a sender', () => {
    expect(parse(bodyWith({ changes: [changeOf({ messages: ['wamid.X'] })] })).ignored).toEqual({
      malformed_item: 1,
    });
    const noSender = messageBody({ from: undefined, type: 'text', text: { body: 'hi' } });
    expect(parse(noSender).ignored).toEqual({ no_sender: 1 });
  });

  it('counts a messages list without a phone-number id as a bad recipient, and a non-list as malformed', () => {
    const noMetadata = bodyWith({ changes: [{ field: 'messages', value: { messages: [] } }] });
    expect(parse(noMetadata).ignored).toEqual({ malformed_recipient: 1 });
    expect(parse(bodyWith({ changes: [changeOf({ messages: 'x' })] })).ignored).toEqual({
      malformed_entry: 1,
    });
  });

  it('passes over an entry without changes, and counts changes that are not a list of objects', () => {
    expect(parse(bodyWith({}))).toEqual({ events: [], ignored: {} });
    expect(parse(bodyWith({ changes: { field: 'messages' } })).ignored).toEqual({ malformed_entry: 1 });
    expect(parse(bodyWith({ changes: 'xy' })).ignored).toEqual({ malformed_entry: 1 });
    expect(parse(bodyWith({ changes: [42, 'x'] })).ignored).toEqual({ malformed_entry: 2 });
  });
});
