/** The console trigger's configuration: the steps queue and the typing model it plans with. */

import { planConfigSchema } from '../pacing/config.ts';
import { type Env, parseEnv, queueSchema, stateTableSchema } from '../platform/config.ts';
import { takeoverSchema } from '../platform/takeover-config.ts';
import * as z from '../platform/zod.ts';

export const sendEnvSchema = z.object({
  ...queueSchema.shape,
  ...planConfigSchema.shape,
  ...stateTableSchema.shape,
  HUMAN_TAKEOVER_PAUSE_SECONDS: takeoverSchema.shape.HUMAN_TAKEOVER_PAUSE_SECONDS,
});

export type SendConfig = z.infer<typeof sendEnvSchema>;

export const loadSendConfig = (env: Env): SendConfig => parseEnv(sendEnvSchema, env);
