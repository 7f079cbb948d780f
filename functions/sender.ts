/**
 * Lambda 2, the sender: SQS FIFO → one Graph Send API call per step, with ReportBatchItemFailures.
 * The work is in lib/delivery/consumer.ts; this file maps the Lambda event and builds the cached dependencies.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type ConsumerDeps, type ConsumerRecord, processBatch } from '../lib/delivery/consumer.ts';
import { graphClient } from '../lib/delivery/graph.ts';
import {
  ConfigError,
  type Env,
  type FetchParameter,
  loadSenderConfig,
  resolveSecrets,
  senderTuningSchema,
} from '../lib/platform/config.ts';
import { stateLedger } from '../lib/platform/ledger.ts';
import { coldStart } from '../lib/platform/runtime.ts';
import { fetchFromSsm } from '../lib/platform/ssm.ts';
import { powertoolsTelemetry } from '../lib/platform/telemetry.ts';

export { type ConsumerRecord, processBatch } from '../lib/delivery/consumer.ts';

export type SenderDeps = ConsumerDeps;

export type SenderOverrides = Partial<SenderDeps> & {
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

export const buildSenderDeps = async (env: Env, overrides: SenderOverrides = {}): Promise<SenderDeps> => {
  const config = loadSenderConfig(env);
  let secretValues: string[] = [];
  const telemetry = overrides.telemetry ?? powertoolsTelemetry('sender', () => secretValues);
  const secrets = await resolveSecrets(config.secrets, overrides.fetchParameter ?? fetchFromSsm);
  secretValues = [secrets.META_APP_SECRET, secrets.META_PAGE_ACCESS_TOKEN];
  const now = overrides.now ?? Date.now;

  const ledger =
    overrides.ledger ??
    stateLedger({
      tableName: config.STATE_TABLE_NAME,
      ttlSeconds: config.ABORT_TTL_SECONDS,
      now,
      dynamo: overrides.dynamo,
      volatileWarning: {
        log: telemetry.log,
        message: 'STATE_TABLE_NAME not set: aborted sequences are remembered per container only',
      },
    }).ledger;

  // zod objects strip unknown keys: exactly the tuning, without the secret sources.
  const tuning = senderTuningSchema.parse(config);

  return {
    graph:
      overrides.graph ??
      graphClient({
        baseUrl: config.GRAPH_API_URL,
        version: config.GRAPH_API_VERSION,
        accessToken: secrets.META_PAGE_ACCESS_TOKEN,
        appSecret: secrets.META_APP_SECRET,
        timeoutMs: config.GRAPH_TIMEOUT_MS,
      }),
    sqs: overrides.sqs ?? new SQSClient({}),
    queueUrl: overrides.queueUrl ?? config.QUEUE_URL,
    dlqUrl: overrides.dlqUrl ?? config.DLQ_URL,
    ledger,
    now,
    sleep: overrides.sleep ?? ((ms) => sleepFor(ms)),
    telemetry,
    tuning: overrides.tuning ?? tuning,
    ...(overrides.random && { random: overrides.random }),
  };
};

export const makeHandler = (env: Env = process.env, overrides: SenderOverrides = {}) => {
  const deps = coldStart(() => buildSenderDeps(env, overrides));
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    let d: SenderDeps;
    try {
      d = await deps();
    } catch (error) {
      // Throwing returns the whole batch to the queue untouched: right when nothing can be sent.
      throw new Error(error instanceof ConfigError ? error.message : 'sender: could not initialise');
    }
    try {
      return await processBatch((event.Records ?? []).map(toConsumerRecord), d);
    } finally {
      d.telemetry.flush();
    }
  };
};

export const handler = makeHandler();
