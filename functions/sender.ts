/**
 * Lambda 2, the sender: SQS FIFO → one Graph Send API call per step, with ReportBatchItemFailures. The work
 * is in lib/sender/consumer.ts, its dependencies in lib/sender/deps.ts; start-up (cached deps, secrets,
 * errors) is lib/platform/runtime.ts.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Env } from '../lib/platform/config.ts';
import { StartupError } from '../lib/platform/errors.ts';
import { lambdaHandler } from '../lib/platform/runtime.ts';
import { fetchFromSsm } from '../lib/platform/ssm.ts';
import { processBatch } from '../lib/sender/consumer.ts';
import { type SenderOverrides, senderDeps } from '../lib/sender/deps.ts';
import { queueRecordsOf } from './sqs-records.ts';

export const makeHandler = (env: Env = process.env, overrides: SenderOverrides = {}) =>
  lambdaHandler({
    service: 'sender',
    telemetry: overrides.telemetry,
    fetchParameter: overrides.fetchParameter ?? fetchFromSsm,
    build: (startup) => senderDeps(env, overrides, startup),
    run: (event: SQSEvent, deps): Promise<SQSBatchResponse> => processBatch(queueRecordsOf(event), deps),
    // Throwing returns the whole batch to the queue untouched: right when nothing can be sent.
    startupFailed: (reason) => {
      throw new StartupError(`sender: ${reason}`);
    },
  });

export const handler = makeHandler();
