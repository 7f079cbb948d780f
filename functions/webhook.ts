/**
 * Lambda 1, the webhook (API Gateway HTTP API, payload v2): maps the API Gateway event to a plain request
 * and delegates to lib/webhook/webhook.ts. Start-up (cached deps, secrets, errors) is lib/platform/runtime.ts.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadPlanConfig } from '../lib/pacing/config.ts';
import { planPrelude } from '../lib/pacing/plan.ts';
import { accountIdsOf } from '../lib/platform/accounts.ts';
import type { Env, FetchParameter } from '../lib/platform/config.ts';
import { stateLedger } from '../lib/platform/ledger.ts';
import { lambdaHandler, type Startup } from '../lib/platform/runtime.ts';
import { fetchFromSsm } from '../lib/platform/ssm.ts';
import { enqueueInbound } from '../lib/queue/inbound-producer.ts';
import { enqueueSequence } from '../lib/queue/producer.ts';
import { type ProducerOverrides, producerDeps } from '../lib/queue/producer-wiring.ts';
import { loadWebhookConfig } from '../lib/webhook/config.ts';
import { handleWebhook, type WebhookDeps, type WebhookRequest } from '../lib/webhook/webhook.ts';

export type WebhookOverrides = Partial<WebhookDeps> &
  ProducerOverrides & { fetchParameter?: FetchParameter; dynamo?: DynamoDBClient };

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

export const build = async (
  env: Env,
  overrides: WebhookOverrides,
  { telemetry, secrets }: Startup,
): Promise<WebhookDeps> => {
  const config = loadWebhookConfig(env);
  const accounts = overrides.accounts ?? accountIdsOf(env);
  const planConfig = loadPlanConfig(env);
  const { META_APP_SECRET, META_VERIFY_TOKEN } = await secrets(config.secrets);
  const producer = producerDeps(config.QUEUE_URL, telemetry, overrides);
  const now = overrides.now ?? Date.now;
  const { STATE_TABLE_NAME: tableName, EVENT_TTL_SECONDS: ttlSeconds } = config;
  return {
    appSecret: overrides.appSecret ?? META_APP_SECRET,
    verifyToken: overrides.verifyToken ?? META_VERIFY_TOKEN,
    planPrelude:
      overrides.planPrelude ??
      ((event) => planPrelude({ seed: event.eventId, inboundText: event.text }, planConfig)),
    enqueue: overrides.enqueue ?? ((seq) => enqueueSequence(producer, seq)),
    enqueueInbound:
      overrides.enqueueInbound ??
      ((inbound) => enqueueInbound({ ...producer, queueUrl: config.RESPONDER_QUEUE_URL }, inbound)),
    ledger:
      overrides.ledger ??
      stateLedger('event', { tableName, ttlSeconds, now, log: telemetry.log, dynamo: overrides.dynamo })
        .ledger,
    now,
    telemetry,
    maxBodyBytes: overrides.maxBodyBytes ?? config.WEBHOOK_MAX_BODY_BYTES,
    ...(accounts !== undefined && { accounts }),
  };
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
    build: (startup) => build(env, overrides, startup),
    run: async (event: APIGatewayProxyEventV2, deps): Promise<APIGatewayProxyStructuredResultV2> => {
      const { statusCode, headers, body } = await handleWebhook(toWebhookRequest(event), deps);
      return { statusCode, headers, body };
    },
    // Meta re-delivers what is not answered 200, so a container that cannot start loses nothing.
    startupFailed: () => textResult(500, 'webhook is not configured'),
    crashed: () => textResult(500, 'internal error'),
  });

export const handler = makeHandler();
