/**
 * The responder's dependencies, built once per container: which responder runs (lib/responder/load.ts), the
 * steps producer, the turn policy, RESPONDER_MID_REPLY=restart's records. Overrides (tests, the local stack)
 * win over what is built here.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Responder } from '../bots/responder.ts';
import type { Env, FetchParameter } from '../platform/config.ts';
import { type ConversationState, stateConversations } from '../platform/conversation-state.ts';
import { type Ledger, stateLedger } from '../platform/ledger.ts';
import type { Startup } from '../platform/runtime.ts';
import type { Telemetry } from '../platform/telemetry.ts';
import { enqueueSequence } from '../queue/producer.ts';
import { type ProducerOverrides, stepsProducerDeps } from '../queue/producer-wiring.ts';
import { shardQueuesOf } from '../queue/shards.ts';
import { loadResponderConfig, turnPolicySchema } from './config.ts';
import type { TurnHold } from './hold.ts';
import { loadResponder } from './load.ts';
import { type MidReplyDeps, type ReplyMemory, stateReplies } from './mid-reply.ts';
import type { TurnConsumerDeps } from './turn-consumer.ts';

export type ResponderOverrides = ProducerOverrides & {
  responder?: Responder;
  /** Reads LLM_API_KEY_PARAM (RESPONDER=llm); default Powertools Parameters, loaded only when used. */
  fetchParameter?: FetchParameter;
  /** The state table client (RESPONDER=llm's conversation memory, RESPONDER_MID_REPLY=restart). */
  dynamo?: Pick<DynamoDBClient, 'send'>;
  /** RESPONDER_MID_REPLY=restart: where aborts go (the sender's ledger) and the replies in flight. */
  ledger?: Ledger;
  replies?: ReplyMemory;
  telemetry?: Telemetry;
  now?: () => number;
  random?: () => number;
  /** The conversation state shared with the other functions (the local stack's memory). */
  conversationState?: ConversationState;
};

/** A person's reply stops a running turn within about this long (one consistent read per poll). */
const HOLD_POLL_MS = 1000;

/** The user hold a turn reads and watches, with the disclosure when BOT_DISCLOSURE_TEXT is set. */
const turnHold = (
  config: ReturnType<typeof loadResponderConfig>,
  overrides: ResponderOverrides,
  now: () => number,
): TurnHold => {
  const text = config.BOT_DISCLOSURE_TEXT;
  return {
    state:
      overrides.conversationState ??
      stateConversations({ tableName: config.STATE_TABLE_NAME, now, dynamo: overrides.dynamo }),
    ...(text !== undefined && { disclosure: { text, afterMs: config.BOT_DISCLOSURE_AFTER_SECONDS * 1000 } }),
    pollMs: HOLD_POLL_MS,
  };
};

/** Resolves after `ms`, or at once when `signal` aborts (the responder answered first). */
const sleepUnlessAborted = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((done) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      done();
    });
  });

export type ResponderDeps = Omit<TurnConsumerDeps, 'functionDeadline'>;

/** RESPONDER_MID_REPLY=restart's deps; undefined under finish, which remembers nothing. */
const midReplyDeps = (
  config: ReturnType<typeof loadResponderConfig>,
  overrides: ResponderOverrides,
  telemetry: Telemetry,
  now: () => number,
): MidReplyDeps | undefined => {
  if (config.RESPONDER_MID_REPLY !== 'restart') return undefined;
  const { STATE_TABLE_NAME: tableName, ABORT_TTL_SECONDS: ttlSeconds } = config;
  const { log } = telemetry;
  return {
    policy: 'restart',
    ledger:
      overrides.ledger ??
      stateLedger('abort', { tableName, ttlSeconds, now, log, dynamo: overrides.dynamo }).ledger,
    replies: overrides.replies ?? stateReplies({ tableName, now, log, dynamo: overrides.dynamo }),
    telemetry,
    now,
  };
};

/** The SSM reader, imported on first use: only RESPONDER=llm with LLM_API_KEY_PARAM reads a secret here. */
export const fetchFromSsmWhenUsed: FetchParameter = async (name) =>
  (await import('../platform/ssm.ts')).fetchFromSsm(name);

export const responderDeps = async (
  env: Env,
  overrides: ResponderOverrides,
  { telemetry, secrets }: Startup,
): Promise<ResponderDeps> => {
  const config = loadResponderConfig(env);
  const producer = stepsProducerDeps(config, telemetry, overrides);
  const fallback = config.RESPONDER_FALLBACK_TEXT;
  const now = overrides.now ?? Date.now;
  const midReply = midReplyDeps(config, overrides, telemetry, now);
  return {
    responder:
      overrides.responder ??
      (await loadResponder(config, {
        env,
        log: telemetry.log,
        secrets,
        ...(overrides.dynamo ? { dynamo: overrides.dynamo } : {}),
        ...(overrides.now ? { now: overrides.now } : {}),
      })),
    enqueue: (seq) => enqueueSequence(producer, seq),
    planConfig: config,
    ...(fallback ? { fallback: { message: { text: fallback } } } : {}),
    now,
    sleep: sleepUnlessAborted,
    telemetry,
    sqs: producer.sqs ?? new SQSClient({}),
    queueUrl: config.RESPONDER_QUEUE_URL,
    ...(config.RESPONDER_DLQ_URL ? { dlqUrl: config.RESPONDER_DLQ_URL } : {}),
    shards: shardQueuesOf(
      { url: config.RESPONDER_QUEUE_URL, urls: config.RESPONDER_QUEUE_URLS },
      { url: config.RESPONDER_DLQ_URL, urls: config.RESPONDER_DLQ_URLS },
    ),
    // zod objects strip unknown keys: exactly the policy.
    policy: turnPolicySchema.parse(config),
    ...(overrides.random ? { random: overrides.random } : {}),
    ...(midReply ? { midReply } : {}),
    hold: turnHold(config, overrides, now),
  };
};
