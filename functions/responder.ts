/**
 * Lambda 3, the responder: SQS FIFO (the responder queue, one message per inbound event, grouped by user)
 * → one responder run per turn → paced reply steps on the steps queue. The work is in
 * lib/responder/turn-consumer.ts, its dependencies in lib/responder/deps.ts; start-up (cached deps,
 * errors) is lib/platform/runtime.ts.
 */

import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Env } from '../lib/platform/config.ts';
import { StartupError } from '../lib/platform/errors.ts';
import { lambdaHandler } from '../lib/platform/runtime.ts';
import { fetchFromSsmWhenUsed, type ResponderOverrides, responderDeps } from '../lib/responder/deps.ts';
import { processTurns } from '../lib/responder/turn-consumer.ts';
import { queueRecordsOf } from './sqs-records.ts';

type Invocation = { event: SQSEvent; remainingMs: number | undefined };

export const makeHandler = (env: Env = process.env, overrides: ResponderOverrides = {}) => {
  const handle = lambdaHandler({
    service: 'responder',
    telemetry: overrides.telemetry,
    fetchParameter: overrides.fetchParameter ?? fetchFromSsmWhenUsed,
    build: (startup) => responderDeps(env, overrides, startup),
    run: ({ event, remainingMs }: Invocation, deps): Promise<SQSBatchResponse> =>
      processTurns(
        queueRecordsOf(event),
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
