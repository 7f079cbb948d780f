/** Values the local stack and the chat CLI agree on. None of them is a real secret: they only work locally. */

export const LOCAL_SECRETS = {
  META_APP_SECRET: 'local-app-secret',
  META_VERIFY_TOKEN: 'local-verify-token',
  META_PAGE_ACCESS_TOKEN: 'local-page-access-token',
} as const;

export const LOCAL_PAGE_ID = '100000000000001';

/**
 * The accounts `npm start` serves by default, one per channel, each with its own throwaway token (the
 * functions run with META_ACCOUNT_IDS + META_ACCOUNT_TOKENS, as a multi-account deployment does). The
 * WhatsApp number is the `phone_number_id` of Meta's webhook examples (test/fixtures/whatsapp/webhooks/),
 * so those bodies and infra/events/send-whatsapp-reply.json reach it as they are.
 */
export const LOCAL_ACCOUNTS = [
  { id: LOCAL_PAGE_ID, channel: 'messenger', accessToken: LOCAL_SECRETS.META_PAGE_ACCESS_TOKEN },
  { id: '17841400000000001', channel: 'instagram', accessToken: 'local-instagram-access-token' },
  { id: '106540352242922', channel: 'whatsapp', accessToken: 'local-whatsapp-access-token' },
] as const;

/**
 * A message the local WhatsApp number has received before the start: the one the console sample
 * infra/events/send-whatsapp-reply.json answers. Meta refuses a read + typing call naming a wamid the number
 * never received, and so does the Graph fake, so the sample needs its message to exist.
 */
export const LOCAL_WHATSAPP_RECEIVED = [
  {
    wamid: 'wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQTdBNjM1RjU4OUQ1RjY2NjRFNwA=',
    psid: 'US.13491208655302741918',
  },
] as const;

/**
 * Fixed default ports (override: ELLIPSIS_PORT, ELLIPSIS_SQS_PORT, ELLIPSIS_GRAPH_PORT, ELLIPSIS_DYNAMO_PORT).
 * 8000 is DynamoDB Local's default, so tools pointed at a local DynamoDB find the state table there.
 */
export const DEFAULT_PORTS = { http: 3000, sqs: 9324, graph: 3001, dynamo: 8000 } as const;

/** Reads a port variable: unset → fallback; anything but an integer 0–65535 is an error naming the variable. */
export const portFrom = (
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`${name} must be a port number (0-65535)`);
  return port;
};
