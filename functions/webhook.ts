/**
 * Lambda 1, the webhook (API Gateway HTTP API, payload v2): maps the API Gateway event to a plain request
 * and delegates to lib/webhook/webhook.ts; its dependencies are built by lib/webhook/deps.ts. Start-up (cached deps, secrets, errors) is lib/platform/runtime.ts.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Env } from '../lib/platform/config.ts';
import { lambdaHandler } from '../lib/platform/runtime.ts';
import { fetchFromSsm } from '../lib/platform/ssm.ts';
import { type WebhookOverrides, webhookDeps } from '../lib/webhook/deps.ts';
import { handleWebhook, type WebhookRequest } from '../lib/webhook/webhook.ts';

/** API Gateway v2 event → plain request: lower-case header names, exact body bytes, decoded query. */
export const toWebhookRequest = (event: APIGatewayProxyEventV2): WebhookRequest => {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  // rawQueryString keeps repeated keys apart (queryStringParameters joins them with commas); first one wins.
  const query: Record<string, string | undefined> = {};
  if (event.rawQueryString) {
    for (const [key, value] of new URLSearchParams(event.rawQueryString)) query[key] ??= value;
  } else {
    Object.assign(query, event.queryStringParameters ?? {});
  }
  const raw = event.body ?? '';
  // HTTP APIs pass JSON bodies as text (UTF-8 re-encodes the exact bytes) and binary ones as base64.
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { method: event.requestContext?.http?.method ?? 'GET', headers, query, body };
};

const textResult = (statusCode: number, body: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body,
});

export const makeHandler = (env: Env = process.env, overrides: WebhookOverrides = {}) =>
  lambdaHandler({
    service: 'webhook',
    telemetry: overrides.telemetry,
    fetchParameter: overrides.fetchParameter ?? fetchFromSsm,
    build: (startup) => webhookDeps(env, overrides, startup),
    run: async (event: APIGatewayProxyEventV2, deps): Promise<APIGatewayProxyStructuredResultV2> => {
      const { statusCode, headers, body } = await handleWebhook(toWebhookRequest(event), deps);
      return { statusCode, headers, body };
    },
    // Meta re-delivers what is not answered 200, so a container that cannot start loses nothing.
    startupFailed: () => textResult(500, 'webhook is not configured'),
    crashed: () => textResult(500, 'internal error'),
  });

export const handler = makeHandler();
