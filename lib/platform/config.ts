/**
 * Configuration shared by every function: how an environment is read (zod, once per cold start), how secrets
 * are named (a value or an SSM parameter) and resolved. Each function owns its own schema beside its core
 * (lib/webhook/config.ts, lib/sender/config.ts, lib/responder/config.ts, lib/console/config.ts; the typing
 * model's in lib/pacing/config.ts), so a function asks only for what it uses (least privilege, and a missing
 * variable fails the function that needs it, not all of them). Errors name the variable and never echo a
 * value: secrets included. Every variable carries its meaning (`z.describe`), from which
 * docs/configuration.md is generated (infra/config-reference.ts).
 */
import { ConfigError } from './errors.ts';
import { describeIssues } from './issues.ts';
import * as z from './zod.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** A schema with its meaning, for docs/configuration.md. */
export const described = <T extends z.ZodMiniType>(meaning: string, schema: T): T =>
  schema.check(z.describe(meaning));

/** A whole number ≥ `min`, read from its env string; `fallback` when unset. */
export const whole = (min: number, fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min)), fallback);
/** A number in [min, max], read from its env string; `fallback` when unset. */
export const between = (min: number, max: number, fallback: number) =>
  z._default(z.coerce.number().check(z.minimum(min), z.maximum(max)), fallback);
export const ms = (fallback: number) => whole(0, fallback);
export const positive = (fallback: number) => z._default(z.coerce.number().check(z.positive()), fallback);
export const nonEmptyIfSet = () => z.optional(z.string().check(z.minLength(1)));

/** A comma-separated list of URLs (blank items dropped): a queue's shards, shard 0 first. */
export const urlList = () =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((s: string) =>
        s
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
      ),
    ),
    z.array(z.url()).check(z.minLength(1)),
  );

export const queueSchema = z.object({
  QUEUE_URL: described('The steps FIFO queue (every Graph call of every sequence).', z.url()),
  QUEUE_URLS: described(
    'All steps FIFO queue shards, comma-separated, shard 0 first (lib/queue/shards.ts); unset: QUEUE_URL alone.',
    z.optional(urlList()),
  ),
});

export const stateTableSchema = z.object({
  STATE_TABLE_NAME: described(
    'The DynamoDB state table (answered events, aborted sequences, sent steps, replies in flight, LLM memory); unset: per-container memory.',
    nonEmptyIfSet(),
  ),
});

/** How long an aborted sequence is remembered (state table TTL); longer than any sequence stays queued. */
export const abortTtlSeconds = described(
  'How long an aborted sequence is remembered (state table TTL), longer than any sequence stays queued.',
  whole(60, 86_400),
);

/** The named secrets, each given as NAME (the value) or NAME_PARAM (an SSM SecureString's name). */
export const SECRET_MEANINGS = {
  META_APP_SECRET: "The Meta app's secret: verifies X-Hub-Signature-256 and signs appsecret_proof.",
  META_VERIFY_TOKEN:
    "The token Meta's webhook handshake (GET hub.verify_token) must present: the one typed into the App Dashboard.",
  META_PAGE_ACCESS_TOKEN:
    'The one access token for every account (one-token mode); refused beside per-account tokens.',
  LLM_API_KEY: "The LLM endpoint's API key (RESPONDER=llm); never logged, redacted from upstream errors.",
} as const;
type NamedSecret = keyof typeof SECRET_MEANINGS;
/** One account's access token (lib/platform/accounts.ts), resolved and redacted like the named secrets. */
export type AccountTokenSecret = `account:${string}`;
export type SecretName = NamedSecret | AccountTokenSecret;

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
