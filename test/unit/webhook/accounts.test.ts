import { describe, expect, it } from 'vitest';
import { handleWebhook } from '../../../lib/webhook/webhook.ts';
import { hubSignature } from '../../support/signing.ts';
import { metricTotal } from '../../support/telemetry.ts';
import { webhookHarness } from '../../support/webhook-harness.ts';

const SECRET = 'accounts-test-app-secret';
const NOW = 1_700_000_000_000;

const harness = (accounts: ReadonlySet<string> | undefined) =>
  webhookHarness({ appSecret: SECRET, now: () => NOW }, accounts ? { accounts } : {});

/** One Messenger text to each of the Pages. */
const bodyFor = (...pages: string[]) =>
  JSON.stringify({
    object: 'page',
    entry: pages.map((page, i) => ({
      id: page,
      time: NOW,
      messaging: [
        {
          sender: { id: `user${i}` },
          recipient: { id: page },
          timestamp: NOW,
          message: { mid: `m_${i}`, text: 'hi' },
        },
      ],
    })),
  });
/** One Instagram DM to each Instagram account (Meta, Instagram Messaging → Webhooks: `messaging[]`). */
const instagramBodyFor = (...accounts: string[]) =>
  JSON.stringify({
    object: 'instagram',
    entry: accounts.map((account, i) => ({
      id: account,
      time: NOW,
      messaging: [
        {
          sender: { id: `igsid${i}` },
          recipient: { id: account },
          timestamp: NOW,
          message: { mid: `ig_${i}`, text: 'hey' },
        },
      ],
    })),
  });
/** One WhatsApp text to each business phone number (Meta, WhatsApp Cloud API → Webhooks → messages). */
const whatsAppBodyFor = (...phoneNumberIds: string[]) =>
  JSON.stringify({
    object: 'whatsapp_business_account',
    entry: phoneNumberIds.map((phoneNumberId, i) => ({
      id: `WABA${i}`,
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
            contacts: [{ profile: { name: 'Sheena' }, wa_id: `1650555000${i}` }],
            messages: [
              {
                from: `1650555000${i}`,
                id: `wamid.TEST${i}`,
                timestamp: String(NOW / 1000),
                type: 'text',
                text: { body: 'hi' },
              },
            ],
          },
        },
      ],
    })),
  });
const post = (raw: string) => {
  const body = new TextEncoder().encode(raw);
  return { method: 'POST', headers: { 'x-hub-signature-256': hubSignature(body, SECRET) }, query: {}, body };
};

describe('webhook: many accounts', () => {
  it('answers the served accounts and acknowledges, counts and logs the others without answering them', async () => {
    const h = harness(new Set(['PAGE_A', 'PAGE_B']));
    const res = await handleWebhook(post(bodyFor('PAGE_A', 'PAGE_X', 'PAGE_B')), h.deps);
    expect(res.statusCode).toBe(200);
    expect(h.inbounds.map((i) => i.event.pageId)).toEqual(['PAGE_A', 'PAGE_B']);
    expect(h.enqueued.map((s) => s.pageId)).toEqual(['PAGE_A', 'PAGE_B']);
    expect(metricTotal(h.telemetry.metrics, 'EventsIgnored', { reason: 'unknown_account' })).toBe(1);
    expect(h.telemetry.logs.some((l) => l.level === 'warn' && l.attributes?.account === 'PAGE_X')).toBe(true);
  });

  it('answers every account when none are configured (one-token deployments, as before)', async () => {
    const h = harness(undefined);
    await handleWebhook(post(bodyFor('PAGE_A', 'PAGE_X')), h.deps);
    expect(h.inbounds.map((i) => i.event.pageId)).toEqual(['PAGE_A', 'PAGE_X']);
  });

  // Each channel names its account differently (a Page id, an Instagram account id, a WhatsApp phone-number
  // id): the filter must hold on every channel, or one Page's token would answer another business's users.
  it.each([
    ['Instagram', instagramBodyFor('IG_A', 'IG_X')],
    ['WhatsApp', whatsAppBodyFor('PHONE_A', 'PHONE_X')],
  ])('answers only the served %s account and acknowledges the other', async (channel, raw) => {
    const h = harness(new Set(['IG_A', 'PHONE_A']));
    const res = await handleWebhook(post(raw), h.deps);
    expect(res.statusCode).toBe(200);
    expect(h.inbounds.map((i) => [i.event.channel, i.event.pageId])).toEqual([
      [channel.toLowerCase(), channel === 'WhatsApp' ? 'PHONE_A' : 'IG_A'],
    ]);
    expect(h.enqueued.map((s) => s.pageId)).toEqual([channel === 'WhatsApp' ? 'PHONE_A' : 'IG_A']);
    expect(metricTotal(h.telemetry.metrics, 'EventsIgnored', { reason: 'unknown_account' })).toBe(1);
    const warning = h.telemetry.logs.find((l) => l.level === 'warn' && l.attributes?.account !== undefined);
    expect(warning?.attributes).toMatchObject({ account: channel === 'WhatsApp' ? 'PHONE_X' : 'IG_X' });
  });
});
