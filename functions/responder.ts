/**
 * Lambda 3, the responder: SQS FIFO (the responder queue, one message per inbound event, grouped by user)
 * → one responder run per turn → paced reply steps on the steps queue. The work is in
 * lib/reply/turn-consumer.ts; this file maps the Lambda event and builds the cached dependencies.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ConfigError, type Env, loadResponderConfig, turnPolicySchema } from '../lib/platform/config.ts';
import { coldStart } from '../lib/platform/runtime.ts';
import { powertoolsTelemetry, type Telemetry } from '../lib/platform/telemetry.ts';
import { enqueueSequence } from '../lib/queue/producer.ts';
import { type ProducerOverrides, producerDeps } from '../lib/queue/producer-wiring.ts';
import { loadResponder, ResponderLoadError } from '../lib/reply/load.ts';
import type { Responder } from '../lib/reply/responder.ts';
import { RulesError } from '../lib/reply/rules.ts';
import { processTurns, type TurnConsumerDeps } from '../lib/reply/turn-consumer.ts';

export type ResponderOverrides = ProducerOverrides & {
  responder?: Responder;
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

type BuiltDeps = Omit<TurnConsumerDeps, 'functionDeadline'>;

export const buildResponderDeps = async (
  env: Env,
  overrides: ResponderOverrides = {},
): Promise<BuiltDeps> => {
  const config = loadResponderConfig(env);
  const telemetry = overrides.telemetry ?? powertoolsTelemetry('responder', () => []);
  const producer = producerDeps(config.QUEUE_URL, telemetry, overrides);
  const fallback = config.RESPONDER_FALLBACK_TEXT;
  return {
    responder: overrides.responder ?? (await loadResponder(config)),
    enqueue: (seq) => enqueueSequence(producer, seq),
    planConfig: config,
    ...(fallback ? { fallback: { message: { text: fallback } } } : {}),
    now: overrides.now ?? Date.now,
    sleep: sleepUnlessAborted,
    telemetry,
    sqs: producer.sqs ?? new SQSClient({}),
    queueUrl: config.RESPONDER_QUEUE_URL,
    ...(config.RESPONDER_DLQ_URL ? { dlqUrl: config.RESPONDER_DLQ_URL } : {}),
    // zod objects strip unknown keys: exactly the policy.
    policy: turnPolicySchema.parse(config),
    ...(overrides.random ? { random: overrides.random } : {}),
  };
};

export const makeHandler = (env: Env = process.env, overrides: ResponderOverrides = {}) => {
  const deps = coldStart(() => buildResponderDeps(env, overrides));
  return async (
    event: SQSEvent,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<SQSBatchResponse> => {
    let d: BuiltDeps;
    try {
      d = await deps();
    } catch (error) {
      // Throwing returns the whole batch to the queue untouched: right when no responder can run.
      const known = [ConfigError, ResponderLoadError, RulesError].some((k) => error instanceof k);
      throw new Error(known ? (error as Error).message : 'responder: could not initialise');
    }
    const remaining = context?.getRemainingTimeInMillis?.();
    const records = (event.Records ?? []).map((r) => ({
      messageId: r.messageId,
      receiptHandle: r.receiptHandle,
      body: r.body,
      attributes: { ...r.attributes },
    }));
    try {
      return await processTurns(records, {
        ...d,
        ...(remaining === undefined ? {} : { functionDeadline: d.now() + remaining }),
      });
    } finally {
      d.telemetry.flush();
    }
  };
};

export const handler = makeHandler();
