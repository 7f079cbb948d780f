/**
 * Typed configuration, validated once per cold start from the environment.
 *
 * Each function asks only for what it uses (least privilege, and a missing variable fails the function
 * that needs it, not all of them). Errors name the variable and never echo a value: secrets included.
 * Secrets come either directly (META_APP_SECRET, …) or from SSM SecureString parameters named by
 * META_APP_SECRET_PARAM, … — fetched once by `resolveSecrets` with an injected fetcher.
 */
import { accountTokenSources } from './accounts.ts';
import { ConfigError } from './errors.ts';
import { describeIssues } from './issues.ts';
import * as z from './zod.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** A whole number ≥ `min`, read from its env string; `fallback` when unset. */
const whole = (min: number, fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min)), fallback);
/** A number in [min, max], read from its env string; `fallback` when unset. */
const between = (min: number, max: number, fallback: number) =>
  z._default(z.coerce.number().check(z.minimum(min), z.maximum(max)), fallback);
const ms = (fallback: number) => whole(0, fallback);
const positive = (fallback: number) => z._default(z.coerce.number().check(z.positive()), fallback);

/** The typing model (see lib/pacing/plan.ts). Defaults and their reasons are in the README. */
export const planConfigSchema = z.object({
  PLAN_READ_WPM: positive(238),
  PLAN_READ_MIN_MS: ms(600),
  PLAN_READ_MAX_MS: ms(3000),
  PLAN_TYPING_CPM: positive(720),
  PLAN_TYPING_MIN_MS: ms(1000),
  PLAN_TYPING_MAX_MS: ms(7000),
  PLAN_ATTACHMENT_TYPING_MS: ms(2000),
  PLAN_BETWEEN_REPLIES_MS: ms(700),
  PLAN_JITTER: between(0, 0.5, 0.15),
  /** Messenger drops the typing bubble after ~20 s; ≥ 1 s keeps a long wait from exploding into steps. */
  PLAN_TYPING_REFRESH_MS: z._default(
    z.coerce.number().check(z.int(), z.minimum(1000), z.maximum(20_000)),
    18_000,
  ),
  /** Multiplies every duration above: 0.01 makes tests and demos 100× faster without special cases. */
  PLAN_TIME_SCALE: between(0, 100, 1),
});

const secretNames = [
  'META_APP_SECRET',
  'META_VERIFY_TOKEN',
  'META_PAGE_ACCESS_TOKEN',
  'LLM_API_KEY',
] as const;
/** One account's access token (lib/platform/accounts.ts), resolved and redacted like the named secrets. */
export type AccountTokenSecret = `account:${string}`;
export type SecretName = (typeof secretNames)[number] | AccountTokenSecret;

const graphSchema = z.object({
  GRAPH_API_URL: z._default(z.url(), 'https://graph.facebook.com'),
  GRAPH_API_VERSION: z._default(z.string().check(z.regex(/^v\d+\.\d+$/, 'must look like v26.0')), 'v26.0'),
  GRAPH_TIMEOUT_MS: ms(10_000),
});

const queueSchema = z.object({ QUEUE_URL: z.url() });

const nonEmptyIfSet = () => z.optional(z.string().check(z.minLength(1)));

/** The DynamoDB state table (lib/platform/ledger.ts) of webhook and sender; unset: per-container memory. */
const stateTableSchema = z.object({ STATE_TABLE_NAME: nonEmptyIfSet() });

export const senderTuningSchema = z.object({
  /** Waits up to this long in-process; longer waits go back to SQS (ChangeMessageVisibility). */
  SENDER_INLINE_WAIT_MS: ms(1000),
  /** When a step is this late against its planned time, the sender stops adding pauses and catches up. */
  SENDER_CATCH_UP_AFTER_MS: ms(15_000),
  RETRY_BASE_SECONDS: positive(2),
  RETRY_MAX_SECONDS: positive(300),
  /** Must equal the queue's redrive maxReceiveCount (serverless.yml); the retry budget is derived from it. */
  QUEUE_MAX_RECEIVE_COUNT: whole(2, 20),
  /** Graph usage (X-App-Usage / X-Business-Use-Case-Usage, %) at which the sender defers instead of sending. */
  SENDER_USAGE_THRESHOLD_PERCENT: between(1, 100, 90),
  /**
   * A deferral hands SQS the whole seconds and the redelivery sleeps the sub-second rest, so the step lands
   * on time; a rest above this is rounded up to the next second instead (up to 1 s late, nothing slept).
   * 1000 (exact, the default): billed ≤ 1 s + the Graph call per waited step. 0 with SENDER_INLINE_WAIT_MS=0
   * is the "cheapest" timing (README, Performance).
   */
  SENDER_DEFER_MAX_SLEEP_MS: z._default(
    z.coerce.number().check(z.int(), z.minimum(0), z.maximum(1000)),
    1000,
  ),
  /**
   * Lateness is absorbed by shortening later pauses, never below this share of the planned pause (after the
   * predecessor's completion). 1 = never shorten: every pause in full, lateness carried along.
   */
  SENDER_MIN_PAUSE_RATIO: between(0, 1, 0.5),
});

/** How long an aborted sequence is remembered (state table TTL); longer than any sequence stays queued. */
const abortTtlSeconds = whole(60, 86_400);

/** Sender wiring (where things are and how long they are kept), apart from the tuning of its timing. */
const senderWiringSchema = z.object({
  ABORT_TTL_SECONDS: abortTtlSeconds,
  /** Dead-letter queue for poison bodies and given-up steps (FIFO when the main queue is FIFO). */
  DLQ_URL: z.optional(z.url()),
});

export type SecretSource = { value: string } | { param: string };

/** A secret may be given directly or as the name of an SSM parameter; one of the two is required. */
export const parseSecrets = <K extends SecretName>(
  env: Env,
  names: readonly K[],
): Record<K, SecretSource> => {
  const out = {} as Record<K, SecretSource>;
  const missing: string[] = [];
  for (const name of names) {
    const value = env[name];
    const param = env[`${name}_PARAM`];
    if (value) out[name] = { value };
    else if (param) out[name] = { param };
    else missing.push(`${name}: ${name} or ${name}_PARAM is required`);
  }
  if (missing.length > 0) throw new ConfigError(`invalid configuration — ${missing.join('; ')}`);
  return out;
};

/** Parses env against a schema; the error lists variable names and reasons, never values. */
export const parseEnv = <S extends z.ZodMiniType>(schema: S, env: Env): z.infer<S> => {
  // Empty strings count as unset so `FOO=` in a .env file falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const r = schema.safeParse(cleaned);
  if (r.success) return r.data;
  throw new ConfigError(`invalid configuration — ${describeIssues(r.error.issues)}`);
};

const webhookEnvSchema = z.object({
  ...queueSchema.shape,
  ...planConfigSchema.shape,
  /** Meta's webhook bodies are small; anything above this is rejected before hashing. */
  WEBHOOK_MAX_BODY_BYTES: z._default(z.coerce.number().check(z.int(), z.positive()), 1_048_576),
  /** The responder FIFO queue: every inbound event goes there (functions/responder.ts answers it). */
  RESPONDER_QUEUE_URL: z.url(),
  /**
   * How long an answered event is remembered, so a Meta re-delivery gets no second reply. Meta retries for up
   * to 36 hours (Meta, Webhooks "Event notifications"); 48 h is the floor, so the record outlives every retry.
   */
  EVENT_TTL_SECONDS: whole(172_800, 172_800),
  ...stateTableSchema.shape,
});
/** The responder function's timing and failure policy (lib/responder/turn.ts). Defaults and reasons: README. */
export const turnPolicySchema = z.object({
  /**
   * A turn waits until its newest message is this old, so "hi", "quick question", "where is my order?"
   * typed in a row are answered together. Real time (not scaled): it is about how fast people type.
   */
  RESPONDER_QUIET_MS: ms(2000),
  /** Quiet-window deferrals a turn may spend; after them it is answered even if the user keeps typing. */
  RESPONDER_MAX_DEFERRALS: whole(0, 4),
  /**
   * The longest the responder may think (typing kept on meanwhile); capped by the function's remaining time
   * minus a reserve, so the cap always fires before Lambda's timeout. Then typing stops and the fallback
   * (if any) is sent.
   */
  RESPONDER_MAX_THINKING_MS: ms(100_000),
  /** Sent when the responder runs out of thinking time; empty = say nothing. */
  RESPONDER_FALLBACK_TEXT: z.optional(z.string().check(z.maxLength(2000))),
  /** Must equal the responder queue's redrive maxReceiveCount (serverless.yml). */
  RESPONDER_QUEUE_MAX_RECEIVE_COUNT: whole(2, 10),
  /** Backoff base for a turn whose responder threw: 2 s, 4 s, 8 s… (full jitter). */
  RESPONDER_RETRY_BASE_SECONDS: positive(2),
  /**
   * A message that arrives while a reply is being typed: 'finish' the reply, then answer (default), or
   * 'restart': drop the reply's unsent part and answer every message at once (lib/responder/mid-reply.ts).
   */
  RESPONDER_MID_REPLY: z._default(z.enum(['finish', 'restart']), 'finish'),
});

export const responderEnvSchema = z.object({
  ...queueSchema.shape,
  ...planConfigSchema.shape,
  ...turnPolicySchema.shape,
  RESPONDER_QUEUE_URL: z.url(),
  /** Where turns that keep failing go (FIFO, like the responder queue). */
  RESPONDER_DLQ_URL: z.optional(z.url()),
  /** rules (default) | slow (thinks RESPONDER_SLOW_MS, then answers by the rules) | llm (lib/bots/llm/, LLM_*). */
  RESPONDER: z._default(z.enum(['rules', 'slow', 'llm']), 'rules'),
  /** A module exporting a Responder (default or named `responder`); wins over RESPONDER. */
  RESPONDER_MODULE: nonEmptyIfSet(),
  RESPONDER_RULES_FILE: nonEmptyIfSet(),
  RESPONDER_SLOW_MS: ms(8000),
  /** RESPONDER_MID_REPLY=restart: the aborts it records, as long as the sender's (ABORT_TTL_SECONDS). */
  ABORT_TTL_SECONDS: abortTtlSeconds,
  ...stateTableSchema.shape,
});

const senderEnvSchema = z.object({
  ...graphSchema.shape,
  ...queueSchema.shape,
  ...senderTuningSchema.shape,
  ...senderWiringSchema.shape,
  ...stateTableSchema.shape,
});
const sendEnvSchema = z.object({ ...queueSchema.shape, ...planConfigSchema.shape });

export type PlanConfig = z.infer<typeof planConfigSchema>;
type WebhookEnv = z.infer<typeof webhookEnvSchema>;
type SenderEnv = z.infer<typeof senderEnvSchema>;
type SendEnv = z.infer<typeof sendEnvSchema>;
export type ResponderEnv = z.infer<typeof responderEnvSchema>;
export type TurnPolicy = z.infer<typeof turnPolicySchema>;

type WebhookConfig = WebhookEnv & {
  secrets: { META_APP_SECRET: SecretSource; META_VERIFY_TOKEN: SecretSource };
};
type SenderConfig = SenderEnv & {
  secrets: { META_APP_SECRET: SecretSource };
  /** The one token for every account (META_PAGE_ACCESS_TOKEN), or each account's own (lib/platform/accounts.ts). */
  tokens: { single: SecretSource } | { byAccount: Record<AccountTokenSecret, SecretSource> };
};

export const loadWebhookConfig = (env: Env): WebhookConfig => ({
  ...parseEnv(webhookEnvSchema, env),
  secrets: parseSecrets(env, ['META_APP_SECRET', 'META_VERIFY_TOKEN']),
});

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

export const loadSendConfig = (env: Env): SendEnv => parseEnv(sendEnvSchema, env);

export const loadResponderConfig = (env: Env): ResponderEnv => parseEnv(responderEnvSchema, env);

export const loadPlanConfig = (env: Env): PlanConfig => parseEnv(planConfigSchema, env);

/** Fetches a decrypted SSM SecureString by name (Powertools Parameters in AWS, a stub in tests). */
export type FetchParameter = (name: string) => Promise<string>;

/** Resolves every secret source once; call at cold start and cache the result. */
export const resolveSecrets = async <K extends SecretName>(
  secrets: Record<K, SecretSource>,
  fetchParameter: FetchParameter,
): Promise<Record<K, string>> => {
  const entries = await Promise.all(
    (Object.entries(secrets) as [K, SecretSource][]).map(async ([name, source]) => {
      if ('value' in source) return [name, source.value] as const;
      try {
        const value = await fetchParameter(source.param);
        if (!value) throw new ConfigError(`${name}: SSM parameter ${source.param} is empty`);
        return [name, value] as const;
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        // The parameter name is not secret; its value and the SDK's message (which may echo input) are left out.
        throw new ConfigError(`${name}: could not read SSM parameter ${source.param}`);
      }
    }),
  );
  return Object.fromEntries(entries) as Record<K, string>;
};
