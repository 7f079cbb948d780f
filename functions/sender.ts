/**
 * Lambda 2, the sender: SQS FIFO → one Graph Send API call per step, with ReportBatchItemFailures.
 * The work is in lib/sender/consumer.ts; start-up (cached deps, secrets, errors) is lib/platform/runtime.ts.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { graphClient } from '../lib/meta/graph/client.ts';
import { accountTokensOf, instagramLoginOf } from '../lib/platform/accounts.ts';
import {
  type Env,
  type FetchParameter,
  loadSenderConfig,
  senderTuningSchema,
} from '../lib/platform/config.ts';
import { StartupError } from '../lib/platform/errors.ts';
import { stateLedger } from '../lib/platform/ledger.ts';
import { lambdaHandler, type Startup } from '../lib/platform/runtime.ts';
import { fetchFromSsm } from '../lib/platform/ssm.ts';
import { sqsOnFirstUse } from '../lib/queue/producer-wiring.ts';
import { type ConsumerDeps, type ConsumerRecord, processBatch } from '../lib/sender/consumer.ts';

export type SenderOverrides = Partial<ConsumerDeps> & {
  fetchParameter?: FetchParameter;
  dynamo?: DynamoDBClient;
};

/** Plain record from a Lambda SQS record (also what a local poller builds from ReceiveMessage output). */
export const toConsumerRecord = (record: SQSRecord): ConsumerRecord => ({
  messageId: record.messageId,
  receiptHandle: record.receiptHandle,
  body: record.body,
  attributes: { ...record.attributes },
});

/** Per-account tokens when configured (lib/platform/accounts.ts), else the one token for every account. */
const tokensOf = async (
  tokens: ReturnType<typeof loadSenderConfig>['tokens'],
  secrets: Startup['secrets'],
) =>
  'byAccount' in tokens
    ? { accountTokens: accountTokensOf(await secrets(tokens.byAccount)) }
    : { accessToken: (await secrets({ META_PAGE_ACCESS_TOKEN: tokens.single })).META_PAGE_ACCESS_TOKEN };

export const build = async (
  env: Env,
  overrides: SenderOverrides,
  { telemetry, secrets }: Startup,
): Promise<ConsumerDeps> => {
  const config = loadSenderConfig(env);
  const { META_APP_SECRET } = await secrets(config.secrets);
  const tokens = await tokensOf(config.tokens, secrets);
  const instagramLogin = instagramLoginOf(env);
  const now = overrides.now ?? Date.now;
  const { STATE_TABLE_NAME: tableName, ABORT_TTL_SECONDS: ttlSeconds } = config;
  return {
    graph:
      overrides.graph ??
      graphClient({
        baseUrl: config.GRAPH_API_URL,
        version: config.GRAPH_API_VERSION,
        ...tokens,
        ...(instagramLogin && { instagramLogin }),
        appSecret: META_APP_SECRET,
        timeoutMs: config.GRAPH_TIMEOUT_MS,
      }),
    sqs: overrides.sqs ?? sqsOnFirstUse(),
    queueUrl: overrides.queueUrl ?? config.QUEUE_URL,
    dlqUrl: overrides.dlqUrl ?? config.DLQ_URL,
    ledger:
      overrides.ledger ??
      stateLedger('abort', { tableName, ttlSeconds, now, log: telemetry.log, dynamo: overrides.dynamo })
        .ledger,
    now,
    sleep: overrides.sleep ?? ((ms) => sleepFor(ms)),
    telemetry,
    // zod objects strip unknown keys: exactly the tuning, without the secret sources.
    tuning: overrides.tuning ?? senderTuningSchema.parse(config),
    ...(overrides.random && { random: overrides.random }),
  };
};

export const makeHandler = (env: Env = process.env, overrides: SenderOverrides = {}) =>
  lambdaHandler({
    service: 'sender',
    telemetry: overrides.telemetry,
    fetchParameter: overrides.fetchParameter ?? fetchFromSsm,
    build: (startup) => build(env, overrides, startup),
    run: (event: SQSEvent, deps): Promise<SQSBatchResponse> =>
      processBatch((event.Records ?? []).map(toConsumerRecord), deps),
    // Throwing returns the whole batch to the queue untouched: right when nothing can be sent.
    startupFailed: (reason) => {
      throw new StartupError(`sender: ${reason}`);
    },
  });

export const handler = makeHandler();
