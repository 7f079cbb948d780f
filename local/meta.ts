/**
 * Playing Meta's part toward the webhook: building Messenger webhook bodies and signing them the way Meta
 * does (Meta, Webhooks "Validate payloads": X-Hub-Signature-256 = sha256=HMAC-SHA256(app secret, raw body)),
 * and the API Gateway event of Meta's POST for tests and benches that call the handler directly.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isBsuid } from '../lib/meta/whatsapp/user-id.ts';
import type { Channel } from '../lib/queue/recipient.ts';
import { apiGatewayEvent } from './http.ts';

export type UserInput =
  | { text: string; quickReplyPayload?: string }
  | { reaction: string; mid: string; action?: 'react' | 'unreact' }
  | { postback: string; title?: string };

export type WebhookMessage = { pageId: string; psid: string; timestamp: number; mid?: string } & UserInput;

/** One `messaging` item, as Meta sends it for a message, a quick-reply tap, a reaction or a postback. */
export const messagingItem = (m: WebhookMessage): Record<string, unknown> => {
  const base = { sender: { id: m.psid }, recipient: { id: m.pageId }, timestamp: m.timestamp };
  if ('text' in m) {
    const message: Record<string, unknown> = { mid: m.mid ?? `m_local_${randomUUID()}`, text: m.text };
    if (m.quickReplyPayload !== undefined) message.quick_reply = { payload: m.quickReplyPayload };
    return { ...base, message };
  }
  if ('reaction' in m) {
    const action = m.action ?? 'react';
    return {
      ...base,
      reaction: {
        mid: m.mid,
        action,
        ...(action === 'react' ? { reaction: 'love', emoji: m.reaction } : {}),
      },
    };
  }
  return {
    ...base,
    postback: { title: m.title ?? m.postback, payload: m.postback, mid: m.mid ?? `m_local_${randomUUID()}` },
  };
};

/** A complete webhook POST body (`object: page`, one entry per item). */
export const webhookBody = (...items: WebhookMessage[]): string =>
  JSON.stringify({
    object: 'page',
    entry: items.map((m) => ({ id: m.pageId, time: m.timestamp, messaging: [messagingItem(m)] })),
  });

/** The page and users of generated traffic (benches, reliability tests). */
export const PAGE_ID = '104729348572910';

export const psidOf = (user: number): string => `${7_700_000_000_000_000 + user}`;

const TEXTS = [
  'hi',
  'Hello, do you deliver on Saturdays?',
  'What are your opening hours?',
  'price',
  'Merci beaucoup 🙏 à bientôt',
  'I ordered last week and nothing arrived yet, can you check order 4411?',
];

/** A text message of generated traffic: user number, message number, and a text (else one of TEXTS). */
export type MessageSpec = { user: number; seq: number; text?: string };

/** One POST body with many users' text messages, split over entries of at most 10 like Meta batches. */
export const batchedWebhookBody = (specs: readonly MessageSpec[], at = Date.now()): Buffer => {
  const entries = [];
  for (let i = 0; i < specs.length; i += 10) {
    entries.push({
      id: PAGE_ID,
      time: at,
      messaging: specs.slice(i, i + 10).map(({ user, seq, text }, j) =>
        messagingItem({
          pageId: PAGE_ID,
          psid: psidOf(user),
          timestamp: at + i + j,
          mid: `m_bench_${user}_${seq}_${at + i + j}`,
          text: text ?? TEXTS[(user + seq) % TEXTS.length] ?? 'hi',
        }),
      ),
    });
  }
  return Buffer.from(JSON.stringify({ object: 'page', entry: entries }));
};

/** `n` events, one per user starting at `firstUser`. */
export const usersBatch = (n: number, firstUser = 0, seq = 0): MessageSpec[] =>
  Array.from({ length: n }, (_, i) => ({ user: firstUser + i, seq }));

export const signatureOf = (rawBody: string | Uint8Array, appSecret: string): string =>
  `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;

/** POSTs a signed body to the webhook URL as Meta would; returns status and response text. */
export const postSignedWebhook = async (
  webhookUrl: string,
  rawBody: string,
  appSecret: string,
): Promise<{ status: number; text: string }> => {
  const response = await fetch(webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': signatureOf(rawBody, appSecret),
      'user-agent': 'facebookexternalua',
    },
    body: rawBody,
  });
  return { status: response.status, text: await response.text() };
};

/** Meta's POST as the webhook Lambda receives it from API Gateway (HTTP API, payload 2.0). */
const webhookPostEvent = (
  body: Uint8Array,
  headers: Record<string, string>,
  base64: boolean,
): APIGatewayProxyEventV2 =>
  apiGatewayEvent(
    {
      method: 'POST',
      url: '/webhook',
      headers: { 'content-type': 'application/json', 'user-agent': 'facebookexternalua', ...headers },
      body,
      sourceIp: '173.252.127.1',
      protocol: 'HTTP/1.1',
      base64,
    },
    'POST /webhook',
    Date.now(),
  );

/** The POST with its body as text (UTF-8), as API Gateway passes JSON. */
export const postEvent = (
  body: Uint8Array | string,
  headers: Record<string, string>,
): APIGatewayProxyEventV2 =>
  webhookPostEvent(typeof body === 'string' ? Buffer.from(body, 'utf8') : body, headers, false);

/** The POST with its body base64-encoded (API Gateway does so for binary media types): exact bytes. */
export const postEventBase64 = (body: Uint8Array, headers: Record<string, string>): APIGatewayProxyEventV2 =>
  webhookPostEvent(body, headers, true);

/**
 * One received WhatsApp message, as a Cloud API `messages` webhook carries it (seconds, string timestamps).
 * `from` is the user key: a phone number (`from`, `wa_id`), or a business-scoped user id (`from_user_id`,
 * `contacts[].user_id`, no phone: a user with a username, Meta's BSUID-only body). `quickReplyPayload`: a
 * tapped reply button (`interactive.button_reply`, its id the payload we set).
 */
export type WhatsAppText = {
  from: string;
  wamid: string;
  text: string;
  at: number;
  quickReplyPayload?: string;
};

const whatsappContact = (m: WhatsAppText) =>
  isBsuid(m.from)
    ? { profile: { name: 'Local user', username: '@local_user' }, user_id: m.from }
    : { profile: { name: 'Local user' }, wa_id: m.from };

const whatsappMessage = (m: WhatsAppText) => ({
  ...(isBsuid(m.from) ? { from_user_id: m.from } : { from: m.from }),
  id: m.wamid,
  timestamp: String(Math.floor(m.at / 1000)),
  ...(m.quickReplyPayload === undefined
    ? { type: 'text', text: { body: m.text } }
    : {
        type: 'interactive',
        interactive: { type: 'button_reply', button_reply: { id: m.quickReplyPayload, title: m.text } },
      }),
});

/** A WhatsApp Cloud API webhook body (Meta, Cloud API → Webhooks → messages) for `phoneNumberId`. */
export const whatsappWebhookBody = (phoneNumberId: string, messages: readonly WhatsAppText[]) => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
            contacts: messages.map(whatsappContact),
            messages: messages.map(whatsappMessage),
          },
        },
      ],
    },
  ],
});

/** Where a message is written to: an account of the local stack and its channel. */
export type LocalAccount = { id: string; channel: Channel };

/**
 * A user's message to the account `pageId` as its channel's webhook carries it: Messenger `object: page`, Instagram
 * `object: instagram` (the same `messaging` items, Meta, Instagram Messaging webhooks), WhatsApp a Cloud
 * API body. WhatsApp has no postbacks and no reactions from this tool: those are refused by name.
 */
export const channelWebhookBody = (channel: Channel, m: WebhookMessage): string => {
  if (channel === 'messenger') return webhookBody(m);
  if (channel === 'instagram') return JSON.stringify({ ...JSON.parse(webhookBody(m)), object: 'instagram' });
  if (!('text' in m)) throw new Error('on WhatsApp the local stack sends text messages and button taps only');
  const wamid = m.mid ?? `wamid.local_${randomUUID()}`;
  const text = { from: m.psid, wamid, text: m.text, at: m.timestamp };
  const tap = m.quickReplyPayload === undefined ? {} : { quickReplyPayload: m.quickReplyPayload };
  return JSON.stringify(whatsappWebhookBody(m.pageId, [{ ...text, ...tap }]));
};
