/**
 * Lambda 1, the webhook (API Gateway HTTP API, payload v2): maps the API Gateway event to a plain request,
 * builds the cached dependencies on the first invocation, and delegates to lib/ingress/webhook.ts.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handleWebhook, type WebhookDeps, type WebhookRequest } from '../lib/ingress/webhook.ts';
import {
  ConfigError,
  type Env,
  type FetchParameter,
  loadPlanConfig,
  loadWebhookConfig,
  resolveSecrets,
} from '../lib/platform/config.ts';
import { stateLedger } from '../lib/platform/ledger.ts';
import { coldStart } from '../lib/platform/runtime.ts';
import { fetchFromSsm } from '../lib/platform/ssm.ts';
import { powertoolsTelemetry, type Telemetry } from '../lib/platform/telemetry.ts';
import { enqueueInbound } from '../lib/queue/inbound-producer.ts';
import { enqueueSequence } from '../lib/queue/producer.ts';
import { type ProducerOverrides, producerDeps } from '../lib/queue/producer-wiring.ts';
import { planPrelude } from '../lib/reply/plan.ts';

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

const buildWebhookDeps = async (
  env: Env,
  overrides: WebhookOverrides,
  telemetry: Telemetry,
  onSecrets: (values: string[]) => void,
): Promise<WebhookDeps> => {
  const config = loadWebhookConfig(env);
  const planConfig = loadPlanConfig(env);
  const secrets = await resolveSecrets(config.secrets, overrides.fetchParameter ?? fetchFromSsm);
  onSecrets([secrets.META_APP_SECRET, secrets.META_VERIFY_TOKEN]);
  const producer = producerDeps(config.QUEUE_URL, telemetry, overrides);
  const now = overrides.now ?? Date.now;
  const ledger =
    overrides.ledger ??
    stateLedger({
      tableName: config.STATE_TABLE_NAME,
      ttlSeconds: config.EVENT_TTL_SECONDS,
      now,
      dynamo: overrides.dynamo,
      volatileWarning: {
        log: telemetry.log,
        message:
          'STATE_TABLE_NAME not set: answered events are remembered per container only, so a Meta ' +
          're-delivery more than 5 minutes later that reaches another container is answered again',
      },
    }).ledger;
  return {
    appSecret: overrides.appSecret ?? secrets.META_APP_SECRET,
    verifyToken: overrides.verifyToken ?? secrets.META_VERIFY_TOKEN,
    planPrelude:
      overrides.planPrelude ??
      ((event) => planPrelude({ seed: event.eventId, inboundText: event.text }, planConfig)),
    enqueue: overrides.enqueue ?? ((seq) => enqueueSequence(producer, seq)),
    enqueueInbound:
      overrides.enqueueInbound ??
      ((inbound) => enqueueInbound({ ...producer, queueUrl: config.RESPONDER_QUEUE_URL }, inbound)),
    ledger,
    now,
    telemetry,
    maxBodyBytes: overrides.maxBodyBytes ?? config.WEBHOOK_MAX_BODY_BYTES,
  };
};

const result = (statusCode: number, body: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body,
});

export const makeHandler = (env: Env = process.env, overrides: WebhookOverrides = {}) => {
  let secretValues: readonly string[] = [];
  let cachedTelemetry: Telemetry | undefined;
  // Created on first use, like the rest, so Powertools reads an environment set after import.
  const telemetryOf = () =>
    (cachedTelemetry ??= overrides.telemetry ?? powertoolsTelemetry('webhook', () => secretValues));
  const deps = coldStart(() =>
    buildWebhookDeps(env, overrides, telemetryOf(), (values) => {
      secretValues = values;
    }),
  );
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const telemetry = telemetryOf();
    let d: WebhookDeps;
    try {
      d = await deps();
    } catch (error) {
      // ConfigError and RulesError name variables/files, never values; anything else is logged by name only.
      const known = error instanceof ConfigError || (error instanceof Error && error.name === 'RulesError');
      telemetry.log.error('webhook could not initialise', {
        error: known ? (error as Error).message : error instanceof Error ? error.name : 'unknown',
      });
      telemetry.flush();
      return result(500, 'webhook is not configured');
    }
    try {
      const response = await handleWebhook(toWebhookRequest(event), d);
      return { statusCode: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      // handleWebhook does not throw by design; this keeps an unforeseen bug a logged 500, not a crash.
      telemetry.log.error('webhook failed unexpectedly', { error });
      return result(500, 'internal error');
    } finally {
      telemetry.flush();
    }
  };
};

export const handler = makeHandler();
