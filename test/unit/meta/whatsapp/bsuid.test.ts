/**
 * WhatsApp users known by a business-scoped user id (Meta, WhatsApp → Business-scoped user IDs): one stable
 * user key per person whatever identifiers a webhook carries, and replies addressed as the Cloud API takes a
 * BSUID (`recipient`). Fixtures and their sources: test/fixtures/whatsapp/SOURCES.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWebhookBody } from '../../../../lib/meta/inbound.ts';
import { channelShapeOf } from '../../../../lib/meta/outbound.ts';
import { BSUID_PATTERN, whatsappAddressOf } from '../../../../lib/meta/whatsapp/user-id.ts';
import { eventKey } from '../../../../lib/platform/ledger.ts';
import { groupIdOf } from '../../../../lib/queue/codec.ts';
import type { InboundEvent } from '../../../../lib/queue/inbound.ts';
import { parseJsonBody } from '../../../../lib/webhook/body.ts';

const fixture = (name: string): unknown => {
  const parsed = parseJsonBody(
    readFileSync(join(import.meta.dirname, '../../../fixtures/whatsapp/webhooks', name)),
  );
  if (!parsed.ok) throw new Error(`fixture ${name} is not JSON`);
  return parsed.json;
};
const onlyEvent = (json: unknown): InboundEvent => {
  const { events, ignored } = parseWebhookBody(json, 1);
  expect(ignored).toEqual({});
  expect(events).toHaveLength(1);
  return events[0] as InboundEvent;
};

const PHONE_ID = '106540352242922';
const BSUID = 'US.13491208655302741918';
const PHONE = '16505551234';
const WAMID = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=';

/** One text message of one person, with whichever identifiers Meta put in that webhook. */
const webhookWith = (ids: { from?: string; from_user_id?: string }, wamid = WAMID, contactIds = ids) => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_ID },
            contacts: [
              {
                profile: { name: 'Sheena' },
                ...(contactIds.from !== undefined && { wa_id: contactIds.from }),
                ...(contactIds.from_user_id !== undefined && { user_id: contactIds.from_user_id }),
              },
            ],
            messages: [{ ...ids, id: wamid, timestamp: '1749416383', type: 'text', text: { body: 'hi' } }],
          },
        },
      ],
    },
  ],
});

describe('WhatsApp senders by business-scoped user id', () => {
  it('answers a user known only by a BSUID (username adopted, phone withheld), keyed by it', () => {
    const event = onlyEvent(fixture('text-bsuid-only.reconstructed.json'));
    expect(event).toMatchObject({ channel: 'whatsapp', pageId: PHONE_ID, psid: BSUID, kind: 'message' });
    expect(event.text).toBe('Does it come in another color?');
  });

  it('keys a webhook carrying phone AND BSUID by the BSUID (a real body from April 2026 on)', () => {
    const event = onlyEvent(fixture('text-phone-and-bsuid.json'));
    expect(event.psid).toBe('IN.1410018717833190');
    expect(event.pageId).toBe('1088451004357858');
  });

  it('keys a body without any BSUID (from before the rollout) by the phone number, as before', () => {
    expect(onlyEvent(fixture('text-gist.json')).psid).toBe('****');
  });

  it('takes the BSUID from contacts[] when the message itself lacks from_user_id', () => {
    const json = webhookWith({ from: PHONE }, WAMID, { from: PHONE, from_user_id: BSUID });
    expect(onlyEvent(json).psid).toBe(BSUID);
  });

  it('accepts a parent BSUID (ENT) and refuses a malformed one instead of keying by phone', () => {
    expect(onlyEvent(webhookWith({ from_user_id: 'US.ENT.11815799212886844830' })).psid).toBe(
      'US.ENT.11815799212886844830',
    );
    const { events, ignored } = parseWebhookBody(webhookWith({ from: PHONE, from_user_id: 'US 1349' }), 1);
    expect(events).toEqual([]);
    expect(ignored).toEqual({ malformed_sender: 1 });
  });
});

describe('one user key per person across identifier changes', () => {
  const keysOf = (event: InboundEvent) => ({
    group: groupIdOf(event.pageId, event.psid),
    dedup: eventKey(event.pageId, event.eventId),
  });

  it('phone + BSUID → BSUID only (username adopted): same FIFO group and per-user records', () => {
    const before = onlyEvent(webhookWith({ from: PHONE, from_user_id: BSUID }, 'wamid.A'));
    const after = onlyEvent(webhookWith({ from_user_id: BSUID }, 'wamid.B'));
    expect(keysOf(after).group).toBe(keysOf(before).group);
  });

  it('BSUID only → phone + BSUID (contact book shares the phone again): same group', () => {
    const before = onlyEvent(webhookWith({ from_user_id: BSUID }, 'wamid.A'));
    const after = onlyEvent(webhookWith({ from: PHONE, from_user_id: BSUID }, 'wamid.B'));
    expect(keysOf(after).group).toBe(keysOf(before).group);
  });

  it('one message re-delivered with different identifiers is one answer: dedup keys on the wamid only', () => {
    const shapes = [{ from: PHONE }, { from: PHONE, from_user_id: BSUID }, { from_user_id: BSUID }];
    const dedups = new Set(shapes.map((ids) => keysOf(onlyEvent(webhookWith(ids, 'wamid.SAME'))).dedup));
    expect(dedups.size).toBe(1);
  });

  it('phone-only → BSUID is the one transition that moves the key (docs/channels.md says why it is past)', () => {
    const legacy = onlyEvent(webhookWith({ from: PHONE }, 'wamid.A', {}));
    const current = onlyEvent(webhookWith({ from: PHONE, from_user_id: BSUID }, 'wamid.B'));
    expect(keysOf(legacy).group).not.toBe(keysOf(current).group);
  });

  it('group ids stay within SQS limits for the longest BSUID, stable and distinct per user', () => {
    const long = `US.${'7'.repeat(128)}`;
    const other = `US.${'7'.repeat(127)}8`;
    const group = groupIdOf('123456789012345678901234567890123456789012345678901234567890123', long);
    expect(group.length).toBeLessThanOrEqual(128);
    expect(groupIdOf('1', long)).toBe(groupIdOf('1', long));
    expect(groupIdOf('1', long)).not.toBe(groupIdOf('1', other));
    expect(groupIdOf(PHONE_ID, BSUID)).toBe(`${PHONE_ID}:${BSUID}`);
  });
});

describe('replies to a BSUID (Cloud API → Messages: recipient)', () => {
  const whatsapp = channelShapeOf('whatsapp');
  const target = { channel: 'whatsapp' as const, pageId: PHONE_ID, psid: BSUID, inboundMid: WAMID };
  const bodyOf = (plan: ReturnType<typeof whatsapp.requestFor>) => {
    if (!('call' in plan)) throw new Error('no call');
    return plan.call.body;
  };

  it('addresses a message with `recipient` and no `to`', () => {
    const body = bodyOf(whatsapp.requestFor(target, { message: { text: 'Hello!' } }));
    expect(body).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      recipient: BSUID,
      type: 'text',
      text: { body: 'Hello!' },
    });
  });

  it('shows read + typing by the inbound wamid alone, as for any user', () => {
    const body = bodyOf(whatsapp.requestFor(target, { sender_action: 'typing_on' }));
    expect(body).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: WAMID,
      typing_indicator: { type: 'text' },
    });
  });

  it('reacts to a BSUID user with `recipient` too', () => {
    const react = { sender_action: 'react' as const, payload: { message_id: WAMID, reaction: '👍' } };
    expect(bodyOf(whatsapp.requestFor(target, react))).toMatchObject({ recipient: BSUID, type: 'reaction' });
  });

  it('any BSUID goes in `recipient`, any phone number in `to`', () => {
    const bsuid = fc.stringMatching(BSUID_PATTERN);
    const phone = fc.stringMatching(/^[1-9]\d{6,14}$/);
    fc.assert(fc.property(bsuid, (id) => 'recipient' in whatsappAddressOf(id)));
    fc.assert(fc.property(phone, (p) => JSON.stringify(whatsappAddressOf(p)) === JSON.stringify({ to: p })));
  });
});
