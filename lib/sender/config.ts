/**
 * The sender function's configuration: the tuning of its timing (what the user sees), its wiring (queues,
 * the state table), the Graph settings and its tokens — one for every account, or each account's own
 * (lib/platform/accounts.ts).
 */

import { graphSchema } from '../meta/graph/config.ts';
import { accountTokenSources } from '../platform/accounts.ts';
import {
  type AccountTokenSecret,
  abortTtlSeconds,
  between,
  described,
  type Env,
  ms,
  parseEnv,
  parseSecrets,
  positive,
  queueSchema,
  type SecretSource,
  stateTableSchema,
  urlList,
  whole,
} from '../platform/config.ts';
import * as z from '../platform/zod.ts';

export const senderTuningSchema = z.object({
  SENDER_INLINE_WAIT_MS: described(
    'Waits up to this long in-process; longer waits go back to SQS (ChangeMessageVisibility) (ms).',
    ms(1000),
  ),
  SENDER_CATCH_UP_AFTER_MS: described(
    'When a step is this late against its planned time, the sender stops adding pauses and catches up (ms).',
    ms(15_000),
  ),
  RETRY_BASE_SECONDS: described('Backoff base for a transient Graph failure (s, full jitter).', positive(2)),
  RETRY_MAX_SECONDS: described('Longest backoff for a transient Graph failure (s).', positive(300)),
  QUEUE_MAX_RECEIVE_COUNT: described(
    "Must equal the steps queue's redrive maxReceiveCount (serverless.yml); the retry budget is derived from it.",
    whole(2, 20),
  ),
  SENDER_USAGE_THRESHOLD_PERCENT: described(
    'Graph usage (X-App-Usage / X-Business-Use-Case-Usage, %) at which the sender defers instead of sending.',
    between(1, 100, 90),
  ),
  // A deferral hands SQS the whole seconds and the redelivery sleeps the sub-second rest. 1000 (exact, the
  // default): billed ≤ 1 s + the Graph call per waited step; 0 with SENDER_INLINE_WAIT_MS=0 is the cheapest.
  SENDER_DEFER_MAX_SLEEP_MS: described(
    'Largest sub-second rest of a deferral slept on redelivery (ms, 0–1000); a larger rest rounds up to the next second (up to 1 s late, nothing slept).',
    z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(1000)), 1000),
  ),
  SENDER_MIN_PAUSE_RATIO: described(
    'Lateness is absorbed by shortening later pauses, never below this share of the planned pause (0–1; 1 = never shorten).',
    between(0, 1, 0.5),
  ),
  // docs/scale.md "Per-account call budgets": why these defaults and what each costs.
  SENDER_CALL_BUDGET: described(
    "Per-account Graph call budgets: 'on' keeps each account's calls/s under its channel's limit (cosmetic steps shed first, messages deferred); 'off' sends as due.",
    z._default(z.enum(['on', 'off']), 'on'),
  ),
  SENDER_BUDGET_SHARE: described(
    "Share of the channel's published calls/s limit the sender spends per account (0.05–1); the rest is headroom for clock skew and other senders.",
    between(0.05, 1, 0.8),
  ),
  SENDER_ACCOUNT_CALLS_PER_SECOND: described(
    "Every account's calls/s limit instead of its channel's published one (Messenger 300, Instagram 100, WhatsApp 80; e.g. 1000 for an upgraded WhatsApp number, 20 for one shared with the Business app).",
    z.optional(z.coerce.number().check(z.int(), z.minimum(1))),
  ),
});

/** Sender wiring (where things are and how long they are kept), apart from the tuning of its timing. */
const senderWiringSchema = z.object({
  ABORT_TTL_SECONDS: abortTtlSeconds,
  DLQ_URL: described(
    "The steps queue's dead-letter queue, for poison bodies and given-up steps (FIFO when the queue is).",
    z.optional(z.url()),
  ),
  DLQ_URLS: described(
    "Each steps queue shard's dead-letter queue, comma-separated, in QUEUE_URLS order; unset: DLQ_URL alone.",
    z.optional(urlList()),
  ),
});

export const senderEnvSchema = z.object({
  ...graphSchema.shape,
  ...queueSchema.shape,
  ...senderTuningSchema.shape,
  ...senderWiringSchema.shape,
  ...stateTableSchema.shape,
});

export type SenderTuningConfig = z.infer<typeof senderTuningSchema>;

export type SenderConfig = z.infer<typeof senderEnvSchema> & {
  secrets: { META_APP_SECRET: SecretSource };
  /** The one token for every account (META_PAGE_ACCESS_TOKEN), or each account's own. */
  tokens: { single: SecretSource } | { byAccount: Record<AccountTokenSecret, SecretSource> };
};

export const loadSenderConfig = (env: Env): SenderConfig => {
  const byAccount = accountTokenSources(env);
  const { META_APP_SECRET, META_PAGE_ACCESS_TOKEN } = parseSecrets(
    env,
    byAccount ? ['META_APP_SECRET'] : ['META_APP_SECRET', 'META_PAGE_ACCESS_TOKEN'],
  );
  return {
    ...parseEnv(senderEnvSchema, env),
    secrets: { META_APP_SECRET },
    tokens: byAccount ? { byAccount } : { single: META_PAGE_ACCESS_TOKEN },
  };
};
