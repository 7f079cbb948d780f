/**
 * SQS wiring of the handlers: the producer's deps (webhook, send, responder), a client built on first use
 * (sender), and their test seams.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Telemetry } from '../platform/telemetry.ts';
import type { EnqueueDeps } from './producer.ts';
import { shardUrls } from './shards.ts';

/** The producer's test seams in a handler's overrides. */
export type ProducerOverrides = {
  sqs?: SQSClient;
  /** Backoff sleep and jitter source of the producer's retries (tests make them instant and fixed). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
};

/**
 * An SQS client built on its first call. The sender's first step on a new container is usually a send, not
 * a deferral: building the client (~3.7 ms: region, credential chain, defaults) then waits for the first
 * step that goes back to SQS, whose time is absorbed by the wait it sets up (coldstart bench, first step).
 */
export const sqsOnFirstUse = (): Pick<SQSClient, 'send'> => {
  let client: SQSClient | undefined;
  // `send` is overloaded (promise, callback); the wrapper hands every call on unchanged, whichever it is.
  const send = (...args: unknown[]): unknown => {
    client ??= new SQSClient({});
    return Reflect.apply(client.send, client, args);
  };
  return { send: send as SQSClient['send'] };
};

/** `queueUrls`: the queue's shards (shard 0 first), each group sent to its own (lib/queue/shards.ts). */
export const producerDeps = (
  queueUrl: string,
  telemetry: Telemetry,
  overrides: ProducerOverrides,
  queueUrls?: readonly string[],
): EnqueueDeps => ({
  // The SDK reads AWS_REGION and AWS_ENDPOINT_URL_SQS itself (local stack), so no endpoint is hard-coded.
  sqs: overrides.sqs ?? new SQSClient({}),
  queueUrl,
  ...(queueUrls !== undefined && { queueUrls }),
  telemetry,
  ...(overrides.sleep && { sleep: overrides.sleep }),
  ...(overrides.random && { random: overrides.random }),
});

/** The steps producer of a function's configuration: QUEUE_URL and its shards (QUEUE_URLS), one way for all. */
export const stepsProducerDeps = (
  config: { QUEUE_URL: string; QUEUE_URLS?: readonly string[] | undefined },
  telemetry: Telemetry,
  overrides: ProducerOverrides,
): EnqueueDeps =>
  producerDeps(config.QUEUE_URL, telemetry, overrides, shardUrls(config.QUEUE_URL, config.QUEUE_URLS));
