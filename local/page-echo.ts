/**
 * Playing the Page inbox toward the webhook: when a person of the business answers from the Page inbox,
 * Meta Business Suite or a phone app, Meta delivers the message back as an echo (Meta, Webhook events
 * "message_echoes": `message.is_echo: true`, sender = the Page, recipient = the user, `app_id` = the app that
 * sent it). An echo whose app id is not META_APP_ID is a person (docs/takeover.md), so the bot steps aside.
 * The chat view's "reply as the Page" box and the takeover tests post these, signed like any Meta POST.
 */
import { randomUUID } from 'node:crypto';
import { postSignedWebhook } from './meta.ts';

/**
 * The app id the local Page inbox sends with: Meta's own inbox app ids are not ours, and this one is no
 * valid META_APP_ID a test would pick by chance.
 */
export const PAGE_INBOX_APP_ID = 263902037430900;

export type PageEcho = {
  pageId: string;
  psid: string;
  text: string;
  timestamp: number;
  /** The sending app: the inbox's by default; this app's own id makes the bot's own echo. */
  appId?: number | string;
  mid?: string;
};

/** A `page` webhook body with one echo of a message the Page sent to `psid`. */
export const pageEchoBody = (echo: PageEcho): string =>
  JSON.stringify({
    object: 'page',
    entry: [
      {
        id: echo.pageId,
        time: echo.timestamp,
        messaging: [
          {
            sender: { id: echo.pageId },
            recipient: { id: echo.psid },
            timestamp: echo.timestamp,
            message: {
              is_echo: true,
              app_id: echo.appId ?? PAGE_INBOX_APP_ID,
              mid: echo.mid ?? `m_echo_${randomUUID()}`,
              text: echo.text,
            },
          },
        ],
      },
    ],
  });

/** Signs the echo with the app secret and POSTs it to the webhook, as Meta would deliver it. */
export const postPageEcho = (
  webhookUrl: string,
  appSecret: string,
  echo: Omit<PageEcho, 'timestamp'> & { timestamp?: number },
): Promise<{ status: number; text: string }> =>
  postSignedWebhook(
    webhookUrl,
    pageEchoBody({ ...echo, timestamp: echo.timestamp ?? Date.now() }),
    appSecret,
  );
