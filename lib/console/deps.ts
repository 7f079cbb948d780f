/**
 * The console trigger's dependencies, built once per container: the typing model, the planner and the steps
 * producer. Overrides (tests, the local stack) win over what is built here.
 */
import { randomUUID } from 'node:crypto';
import { loadPlanConfig } from '../pacing/config.ts';
import { planSequence } from '../pacing/plan.ts';
import type { Env } from '../platform/config.ts';
import { type ConversationState, stateConversations } from '../platform/conversation-state.ts';
import type { Startup } from '../platform/runtime.ts';
import type { Telemetry } from '../platform/telemetry.ts';
import { enqueueSequence } from '../queue/producer.ts';
import { type ProducerOverrides, stepsProducerDeps } from '../queue/producer-wiring.ts';
import { loadSendConfig } from './config.ts';
import type { SendDeps } from './send.ts';

export type SendOverrides = Partial<Omit<SendDeps, 'telemetry'>> &
  ProducerOverrides & { telemetry?: Telemetry; conversationState?: ConversationState };

export const sendDeps = (env: Env, overrides: SendOverrides, { telemetry }: Startup): SendDeps => {
  const config = loadSendConfig(env);
  const producer = stepsProducerDeps(config, telemetry, overrides);
  const now = overrides.now ?? Date.now;
  return {
    planConfig: overrides.planConfig ?? loadPlanConfig(env),
    plan: overrides.plan ?? planSequence,
    enqueue: overrides.enqueue ?? ((seq) => enqueueSequence(producer, seq)),
    now,
    newSequenceId: overrides.newSequenceId ?? (() => `console-${randomUUID()}`),
    telemetry,
    control: overrides.control ?? {
      conversations:
        overrides.conversationState ?? stateConversations({ tableName: config.STATE_TABLE_NAME, now }),
      pauseSeconds: config.HUMAN_TAKEOVER_PAUSE_SECONDS,
      now,
    },
  };
};
