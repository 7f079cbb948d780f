/**
 * What the sender's batch loop depends on — all injected, so tests and the local stack pass their own — and
 * how a container builds them once: configuration, secrets and tokens, the Graph client, the abort record.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { GraphSendResult, SendActionRequest } from '../meta/graph/client.ts';
import { graphClient } from '../meta/graph/client.ts';
import type { UsageReading } from '../meta/graph/usage.ts';
import { accountTokensOf, instagramLoginOf } from '../platform/accounts.ts';
import type { Env, FetchParameter } from '../platform/config.ts';
import { type ConversationState, stateConversations } from '../platform/conversation-state.ts';
import type { Ledger } from '../platform/ledger.ts';
import { stateLedger } from '../platform/ledger.ts';
import type { Startup } from '../platform/runtime.ts';
import type { Telemetry } from '../platform/telemetry.ts';
import { sqsOnFirstUse } from '../queue/producer-wiring.ts';
import type { ShardQueue } from '../queue/shards.ts';
import { shardQueuesOf } from '../queue/shards.ts';
import type { AccountHolds } from './account-hold.ts';
import { type BudgetStore, stateBudgetStore } from './budget-store.ts';
import { loadSenderConfig, senderTuningSchema } from './config.ts';
import type { SenderTuning } from './schedule.ts';

export type GraphSender = {
  sendAction: (request: SendActionRequest) => Promise<GraphSendResult>;
  /** The latest Graph usage reading, if the client keeps one. */
  usage?: () => UsageReading | undefined;
};

export type ConsumerDeps = {
  graph: GraphSender;
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  dlqUrl?: string;
  /** The queue's shards, each with its DLQ: a record is answered on its own (lib/queue/shards.ts). */
  shards?: readonly ShardQueue[];
  ledger: Ledger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  telemetry: Telemetry;
  tuning: SenderTuning;
  /** For backoff jitter; Math.random by default. */
  random?: () => number;
  /** Accounts Meta restricted from sending (account-hold.ts); the container's own by default. */
  accountHolds?: AccountHolds;
  /** Who holds each conversation (lib/sender/user-hold.ts); undefined: no user holds are read. */
  conversations?: ConversationState;
  /** Per-account call counters (budget-store.ts); absent: no budget, every due step is sent. */
  budget?: BudgetStore;
};

export type SenderOverrides = Partial<ConsumerDeps> & {
  fetchParameter?: FetchParameter;
  dynamo?: DynamoDBClient;
};

/** Per-account tokens when configured (lib/platform/accounts.ts), else the one token for every account. */
const tokensOf = async (
  tokens: ReturnType<typeof loadSenderConfig>['tokens'],
  secrets: Startup['secrets'],
) =>
  'byAccount' in tokens
    ? { accountTokens: accountTokensOf(await secrets(tokens.byAccount)) }
    : { accessToken: (await secrets({ META_PAGE_ACCESS_TOKEN: tokens.single })).META_PAGE_ACCESS_TOKEN };

export const senderDeps = async (
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
    shards: shardQueuesOf(
      { url: config.QUEUE_URL, urls: config.QUEUE_URLS },
      { url: config.DLQ_URL, urls: config.DLQ_URLS },
    ),
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
    conversations:
      overrides.conversations ?? stateConversations({ tableName, now, dynamo: overrides.dynamo }),
    // One counter per account across every container when the state table is set (docs/scale.md).
    budget: overrides.budget ?? stateBudgetStore({ tableName, dynamo: overrides.dynamo }),
  };
};
