/** The webhook function's configuration: its queues, its limits, how long an answered event is remembered. */

import { planConfigSchema } from '../pacing/config.ts';
import {
  described,
  type Env,
  parseEnv,
  parseSecrets,
  queueSchema,
  type SecretSource,
  stateTableSchema,
  urlList,
  whole,
} from '../platform/config.ts';
import { takeoverSchema } from '../platform/takeover-config.ts';
import * as z from '../platform/zod.ts';

export const webhookEnvSchema = z.object({
  ...queueSchema.shape,
  ...planConfigSchema.shape,
  WEBHOOK_MAX_BODY_BYTES: described(
    "Largest webhook body accepted (bytes); Meta's bodies are small, anything above gets 413 before hashing.",
    z._default(z.coerce.number().check(z.int(), z.positive()), 1_048_576),
  ),
  RESPONDER_QUEUE_URL: described(
    'The responder FIFO queue: every inbound event goes there (functions/responder.ts answers it).',
    z.url(),
  ),
  RESPONDER_QUEUE_URLS: described(
    'All responder FIFO queue shards, comma-separated, shard 0 first; unset: RESPONDER_QUEUE_URL alone.',
    z.optional(urlList()),
  ),
  // Meta retries for up to 36 hours (Meta, Webhooks "Event notifications"): 48 h outlives every retry.
  EVENT_TTL_SECONDS: described(
    'How long an answered event is remembered so a Meta re-delivery gets no second reply (s, ≥ 172800: Meta retries for up to 36 h).',
    whole(172_800, 172_800),
  ),
  ...stateTableSchema.shape,
  ...takeoverSchema.shape,
});

export type WebhookConfig = z.infer<typeof webhookEnvSchema> & {
  secrets: { META_APP_SECRET: SecretSource; META_VERIFY_TOKEN: SecretSource };
};

export const loadWebhookConfig = (env: Env): WebhookConfig => ({
  ...parseEnv(webhookEnvSchema, env),
  secrets: parseSecrets(env, ['META_APP_SECRET', 'META_VERIFY_TOKEN']),
});
