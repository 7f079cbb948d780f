/**
 * Messenger stickers through Meta's 2026 change (Messenger changelog, 2026-06-01: a `sticker` attachment
 * type beside the old `image` one until 2026-08-30, alone after): the parser gives one `sticker` for every
 * shape, and the default rules answer it the same way in all three periods.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rulesResponder } from '../../../../lib/bots/responder.ts';
import { defaultRules } from '../../../../lib/bots/rules.ts';
import { parseWebhookBody } from '../../../../lib/meta/inbound.ts';
import type { InboundEvent } from '../../../../lib/queue/inbound.ts';

const STICKER_ID = 369239263222822;
const PNG = 'https://scontent.xx.fbcdn.net/v/t39.1997-6/851557_369239266556155_759568595_n.png';
const imageShape = { type: 'image', payload: { url: PNG, sticker_id: STICKER_ID } };
const stickerShape = { type: 'sticker', payload: { url: PNG, sticker_id: STICKER_ID } };

const bodyWith = (attachments: unknown[]) => ({
  object: 'page',
  entry: [
    {
      id: '404217156637689',
      time: 1491797086506,
      messaging: [
        {
          sender: { id: '1423587017700273' },
          recipient: { id: '404217156637689' },
          timestamp: 1491797086506,
          message: { mid: 'mid.$cAAE1UUyiiwthh05ZKlbVgkOobi32', sticker_id: STICKER_ID, attachments },
        },
      ],
    },
  ],
});
const onlyEvent = (json: unknown): InboundEvent => {
  const { events } = parseWebhookBody(json, 1);
  expect(events).toHaveLength(1);
  return events[0] as InboundEvent;
};

describe('Messenger stickers (2026 webhook change)', () => {
  it.each([
    ['before June 2026: an image with sticker_id', [imageShape]],
    ['the 90-day transition: image AND sticker, same sticker_id', [imageShape, stickerShape]],
    ['since 2026-08-30: the sticker type only', [stickerShape]],
  ])('%s → one sticker attachment', (_period, attachments) => {
    expect(onlyEvent(bodyWith(attachments)).attachments).toEqual([{ type: 'sticker', url: PNG }]);
  });

  it('reads the real legacy sticker of the shared corpus as a sticker', () => {
    const corpus = join(import.meta.dirname, '../../../../../shared/corpus/webhooks/sticker-like-small.json');
    const event = onlyEvent(JSON.parse(readFileSync(corpus, 'utf8')));
    expect(event.attachments.map((a) => a.type)).toEqual(['sticker']);
  });

  it('keeps images without sticker_id as images, and two different stickers as two', () => {
    const photo = { type: 'image', payload: { url: 'https://x.example/p.jpg' } };
    const other = { type: 'sticker', payload: { url: PNG, sticker_id: 1 } };
    expect(onlyEvent(bodyWith([photo, stickerShape, other])).attachments.map((a) => a.type)).toEqual([
      'image',
      'sticker',
      'sticker',
    ]);
  });

  it('the default rules answer a sticker with a ❤ reaction in every period, never as a photo', () => {
    const respond = rulesResponder(defaultRules());
    for (const attachments of [[imageShape], [imageShape, stickerShape], [stickerShape]]) {
      expect(respond(onlyEvent(bodyWith(attachments)))).toMatchObject([
        { sender_action: 'react', payload: { reaction: '❤' } },
      ]);
    }
  });
});
