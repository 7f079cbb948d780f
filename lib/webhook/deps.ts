/**
 * The webhook's dependencies, built once per container: its configuration and secrets, the producer of both
 * queues, the prelude planner and the answered-event record. Everything a test or the local stack passes
 * in (overrides) wins over what is built here.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadPlanConfig } from '../pacing/config.ts';
import { planPrelude } from '../pacing/plan.ts';
import { accountIdsOf } from '../platform/accounts.ts';
import type { Env, FetchParameter } from '../platform/config.ts';
import { type ConversationState, stateConversations } from '../platform/conversation-state.ts';
import { stateLedger } from '../platform/ledger.ts';
import type { Startup } from '../platform/runtime.ts';
import { enqueueInbound } from '../queue/inbound-producer.ts';
import { enqueueSequence } from '../queue/producer.ts';
import { type ProducerOverrides, stepsProducerDeps } from '../queue/producer-wiring.ts';
import { shardUrls } from '../queue/shards.ts';
import { batchedEnqueue } from './batched-enqueue.ts';
import { loadWebhookConfig } from './config.ts';
import type { WebhookDeps } from './webhook.ts';

export type WebhookOverrides = Partial<WebhookDeps> &
  ProducerOverrides & {
    fetchParameter?: FetchParameter;
    dynamo?: DynamoDBClient;
    /** The conversation state shared with the other functions (the local stack's memory). */
    conversationState?: ConversationState;
  };

/** Without META_APP_ID the bot cannot tell its own echoes: said once, at cold start (docs/takeover.md). */
const warnWithoutAppId = (appId: string | undefined, telemetry: Startup['telemetry']): void => {
  if (appId !== undefined) return;
  telemetry.log.warn(
    'META_APP_ID not set: every message echo is taken for a person and pauses the bot for that user, ' +
      "the bot's own included if this app receives message_echoes; set META_APP_ID",
  );
};

export const webhookDeps = async (
  env: Env,
  overrides: WebhookOverrides,
  { telemetry, secrets }: Startup,
): Promise<WebhookDeps> => {
  const config = loadWebhookConfig(env);
  const accounts = overrides.accounts ?? accountIdsOf(env);
  const planConfig = loadPlanConfig(env);
  const { META_APP_SECRET, META_VERIFY_TOKEN } = await secrets(config.secrets);
  const stepsQueues = shardUrls(config.QUEUE_URL, config.QUEUE_URLS);
  const responderQueues = shardUrls(config.RESPONDER_QUEUE_URL, config.RESPONDER_QUEUE_URLS);
  const producer = stepsProducerDeps(config, telemetry, overrides);
  // Replaced one-event-at-a-time producers (tests) keep that path; otherwise a body goes out batched.
  const oneByOne = overrides.enqueue !== undefined || overrides.enqueueInbound !== undefined;
  const now = overrides.now ?? Date.now;
  const { STATE_TABLE_NAME: tableName, EVENT_TTL_SECONDS: ttlSeconds } = config;
  if (overrides.takeover === undefined) warnWithoutAppId(config.META_APP_ID, telemetry);
  return {
    appSecret: overrides.appSecret ?? META_APP_SECRET,
    verifyToken: overrides.verifyToken ?? META_VERIFY_TOKEN,
    planPrelude:
      overrides.planPrelude ??
      ((event) => planPrelude({ seed: event.eventId, inboundText: event.text }, planConfig)),
    enqueue: overrides.enqueue ?? ((seq) => enqueueSequence(producer, seq)),
    enqueueInbound:
      overrides.enqueueInbound ??
      ((inbound) =>
        enqueueInbound(
          { ...producer, queueUrl: config.RESPONDER_QUEUE_URL, queueUrls: responderQueues },
          inbound,
        )),
    ...(!oneByOne && {
      enqueueEvents: overrides.enqueueEvents ?? batchedEnqueue({ producer, stepsQueues, responderQueues }),
    }),
    ledger:
      overrides.ledger ??
      stateLedger('event', { tableName, ttlSeconds, now, log: telemetry.log, dynamo: overrides.dynamo })
        .ledger,
    now,
    telemetry,
    maxBodyBytes: overrides.maxBodyBytes ?? config.WEBHOOK_MAX_BODY_BYTES,
    ...(accounts !== undefined && { accounts }),
    takeover: overrides.takeover ?? {
      appId: config.META_APP_ID,
      pauseMs: config.HUMAN_TAKEOVER_PAUSE_SECONDS * 1000,
      state: overrides.conversationState ?? stateConversations({ tableName, now, dynamo: overrides.dynamo }),
    },
  };
};
