/**
 * What the Lambda handlers in functions/ share at cold start: dependencies built on the first invocation
 * (not at import, so the local stack and tests can set the environment first) and rebuilt after a failed
 * build, and the producer wiring of the two handlers that enqueue (webhook, send).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { EnqueueDeps } from '../queue/producer.ts';
import type { Telemetry } from './telemetry.ts';

/**
 * Runs `build` on the first call and hands every later call the same promise. A build that fails is
 * forgotten, so the next invocation retries the cold start instead of failing until the container dies.
 */
export const coldStart = <T>(build: () => Promise<T>): (() => Promise<T>) => {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
};

/** The producer's test seams in a handler's overrides. */
export type ProducerOverrides = {
  sqs?: SQSClient;
  /** Backoff sleep and jitter source of the producer's retries (tests make them instant and fixed). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
};

export const producerDeps = (
  queueUrl: string,
  telemetry: Telemetry,
  overrides: ProducerOverrides,
): EnqueueDeps => ({
  // The SDK reads AWS_REGION and AWS_ENDPOINT_URL_SQS itself (local stack), so no endpoint is hard-coded.
  sqs: overrides.sqs ?? new SQSClient({}),
  queueUrl,
  telemetry,
  ...(overrides.sleep && { sleep: overrides.sleep }),
  ...(overrides.random && { random: overrides.random }),
});
