/**
 * Lambda 3, the console trigger (no event source): operators invoke it from the Lambda console with one of
 * its saved test events (infra/events/send-*.json), the CLI (`aws lambda invoke`, `osls invoke`) or
 * `osls invoke local`. Validation, planning and enqueueing live in lib/console/send.ts; start-up (cached
 * deps, errors) is lib/platform/runtime.ts.
 */
import { randomUUID } from 'node:crypto';
import { loadSendConfig } from '../lib/console/config.ts';
import { runSend, type SendDeps, type SendResult } from '../lib/console/send.ts';
import { loadPlanConfig } from '../lib/pacing/config.ts';
import { planSequence } from '../lib/pacing/plan.ts';
import type { Env } from '../lib/platform/config.ts';
import { lambdaHandler, type Startup } from '../lib/platform/runtime.ts';
import type { Telemetry } from '../lib/platform/telemetry.ts';
import { enqueueSequence } from '../lib/queue/producer.ts';
import { type ProducerOverrides, producerDeps } from '../lib/queue/producer-wiring.ts';

export type SendOverrides = Partial<Omit<SendDeps, 'telemetry'>> &
  ProducerOverrides & { telemetry?: Telemetry };

export const build = (env: Env, overrides: SendOverrides, { telemetry }: Startup): SendDeps => {
  const config = loadSendConfig(env);
  const producer = producerDeps(config.QUEUE_URL, telemetry, overrides);
  return {
    planConfig: overrides.planConfig ?? loadPlanConfig(env),
    plan: overrides.plan ?? planSequence,
    enqueue: overrides.enqueue ?? ((seq) => enqueueSequence(producer, seq)),
    now: overrides.now ?? Date.now,
    newSequenceId: overrides.newSequenceId ?? (() => `console-${randomUUID()}`),
    telemetry,
  };
};

export const makeHandler = (env: Env = process.env, overrides: SendOverrides = {}) =>
  lambdaHandler({
    service: 'send',
    telemetry: overrides.telemetry,
    build: (startup) => build(env, overrides, startup),
    run: (event: unknown, deps): Promise<SendResult> => runSend(event, deps),
    // Not cached: the next press retries with whatever the environment holds then.
    startupFailed: (message): SendResult => ({ ok: false, errors: [{ path: '(config)', message }] }),
  });

export const handler = makeHandler();
