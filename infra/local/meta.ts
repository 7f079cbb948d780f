/**
 * Playing Meta's part toward the webhook: building Messenger webhook bodies and signing them the way Meta
 * does (Meta, Webhooks "Validate payloads": X-Hub-Signature-256 = sha256=HMAC-SHA256(app secret, raw body)).
 */
import { createHmac, randomUUID } from 'node:crypto';

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
