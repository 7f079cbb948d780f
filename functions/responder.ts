/**
 * Lambda 3, the responder: SQS FIFO (the responder queue, one message per inbound event, grouped by user)
 * → one responder run per turn → paced reply steps on the steps queue. The work is in
 * lib/responder/turn-consumer.ts; start-up (cached deps, errors) is lib/platform/runtime.ts.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Responder } from '../lib/bots/responder.ts';
import type { Env, FetchParameter } from '../lib/platform/config.ts';
import { StartupError } from '../lib/platform/errors.ts';
import { type Ledger, stateLedger } from '../lib/platform/ledger.ts';
import { lambdaHandler, type Startup } from '../lib/platform/runtime.ts';
import type { Telemetry } from '../lib/platform/telemetry.ts';
import { enqueueSequence } from '../lib/queue/producer.ts';
import { type ProducerOverrides, producerDeps } from '../lib/queue/producer-wiring.ts';
import { loadResponderConfig, turnPolicySchema } from '../lib/responder/config.ts';
import { loadResponder } from '../lib/responder/load.ts';
import { type MidReplyDeps, type ReplyMemory, stateReplies } from '../lib/responder/mid-reply.ts';
import { processTurns, type TurnConsumerDeps } from '../lib/responder/turn-consumer.ts';

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

type ResponderDeps = Omit<TurnConsumerDeps, 'functionDeadline'>;

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
const fetchFromSsmWhenUsed: FetchParameter = async (name) =>
  (await import('../lib/platform/ssm.ts')).fetchFromSsm(name);

export const build = async (
  env: Env,
  overrides: ResponderOverrides,
  { telemetry, secrets }: Startup,
): Promise<ResponderDeps> => {
  const config = loadResponderConfig(env);
  const producer = producerDeps(config.QUEUE_URL, telemetry, overrides);
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
    // zod objects strip unknown keys: exactly the policy.
    policy: turnPolicySchema.parse(config),
    ...(overrides.random ? { random: overrides.random } : {}),
    ...(midReply ? { midReply } : {}),
  };
};

type Invocation = { event: SQSEvent; remainingMs: number | undefined };

export const makeHandler = (env: Env = process.env, overrides: ResponderOverrides = {}) => {
  const handle = lambdaHandler({
    service: 'responder',
    telemetry: overrides.telemetry,
    fetchParameter: overrides.fetchParameter ?? fetchFromSsmWhenUsed,
    build: (startup) => build(env, overrides, startup),
    run: ({ event, remainingMs }: Invocation, deps): Promise<SQSBatchResponse> =>
      processTurns(
        (event.Records ?? []).map((r) => ({
          messageId: r.messageId,
          receiptHandle: r.receiptHandle,
          body: r.body,
          attributes: { ...r.attributes },
        })),
        // Thinking stops before Lambda's own timeout (lib/responder/turn.ts thinkingDeadline).
        { ...deps, ...(remainingMs === undefined ? {} : { functionDeadline: deps.now() + remainingMs }) },
      ),
    // Throwing returns the whole batch to the queue untouched: right when no responder can run.
    startupFailed: (reason) => {
      throw new StartupError(`responder: ${reason}`);
    },
  });
  return (event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>) =>
    handle({ event, remainingMs: context?.getRemainingTimeInMillis?.() });
};

export const handler = makeHandler();
