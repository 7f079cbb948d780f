/**
 * Lambda 3, the console trigger (no event source): operators invoke it from the Lambda console with one of
 * its saved test events (infra/events/send-*.json), the CLI (`aws lambda invoke`, `osls invoke`) or
 * `osls invoke local`. Validation, planning and enqueueing live in lib/console/send.ts; this file wires AWS.
 */
import { randomUUID } from 'node:crypto';
import { runSend, type SendDeps, type SendResult } from '../lib/console/send.ts';
import { ConfigError, type Env, loadPlanConfig, loadSendConfig } from '../lib/platform/config.ts';
import { powertoolsTelemetry, type Telemetry } from '../lib/platform/telemetry.ts';
import { enqueueSequence } from '../lib/queue/producer.ts';
import { type ProducerOverrides, producerDeps } from '../lib/queue/producer-wiring.ts';
import { planSequence } from '../lib/reply/plan.ts';

export type SendOverrides = Partial<Omit<SendDeps, 'telemetry'>> &
  ProducerOverrides & { telemetry?: Telemetry };

const buildSendDeps = (env: Env, overrides: SendOverrides, telemetry: Telemetry): SendDeps => {
  const config = loadSendConfig(env);
  const planConfig = overrides.planConfig ?? loadPlanConfig(env);
  const producer = producerDeps(config.QUEUE_URL, telemetry, overrides);
  return {
    planConfig,
    plan: overrides.plan ?? planSequence,
    enqueue: overrides.enqueue ?? ((seq) => enqueueSequence(producer, seq)),
    now: overrides.now ?? Date.now,
    newSequenceId: overrides.newSequenceId ?? (() => `console-${randomUUID()}`),
    telemetry,
  };
};

export const makeHandler = (env: Env = process.env, overrides: SendOverrides = {}) => {
  let cachedTelemetry: Telemetry | undefined;
  let deps: SendDeps | undefined;
  return async (event: unknown): Promise<SendResult> => {
    // Created on first use, so Powertools reads an environment set after import. No secrets here.
    cachedTelemetry ??= overrides.telemetry ?? powertoolsTelemetry('send', () => []);
    const telemetry = cachedTelemetry;
    try {
      deps ??= buildSendDeps(env, overrides, telemetry);
    } catch (error) {
      // Not cached: the next press retries with whatever the environment holds then.
      const message = error instanceof ConfigError ? error.message : 'could not initialise';
      telemetry.log.error('send could not initialise', { error: message });
      telemetry.flush();
      return { ok: false, errors: [{ path: '(config)', message }] };
    }
    try {
      return await runSend(event, deps);
    } finally {
      telemetry.flush();
    }
  };
};

export const handler = makeHandler();
