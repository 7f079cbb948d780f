/**
 * Many accounts in one deployment: which accounts (Facebook Pages, Instagram accounts, WhatsApp phone
 * numbers) it answers, and where each one's access token comes from. Values are never echoed in errors.
 *
 * - `META_ACCOUNT_IDS` — comma-separated account ids. The webhook answers only these (an event for any
 *   other account is logged, counted and acknowledged); unset, it answers every account (one-token mode).
 * - Tokens, one of:
 *   - `META_ACCOUNT_TOKENS` — a JSON object `{"<account id>": "<token>"}` (direct values; local stack);
 *   - `META_ACCOUNT_TOKEN_PARAM_PREFIX` with `META_ACCOUNT_IDS` — SSM SecureString `<prefix><account id>`
 *     per account, read once at cold start;
 *   - neither: `META_PAGE_ACCESS_TOKEN` (or `_PARAM`) for every account, as before.
 * Per-account tokens and META_PAGE_ACCESS_TOKEN together are refused: an account without its own token
 * would otherwise be answered with the shared one.
 * - `META_INSTAGRAM_LOGIN_ACCOUNT_IDS` (+ `INSTAGRAM_API_URL`): which accounts are Instagram-Login accounts,
 *   answered on graph.instagram.com with an Instagram user token instead of through a Page (instagramLoginOf).
 */
import {
  type AccountTokenSecret,
  described,
  type Env,
  nonEmptyIfSet,
  parseEnv,
  type SecretSource,
} from './config.ts';
import { ConfigError } from './errors.ts';
import * as z from './zod.ts';

export const accountsEnvSchema = z.object({
  META_ACCOUNT_IDS: described(
    'Comma-separated account ids (Pages, Instagram accounts, WhatsApp phone number ids) this deployment answers; unset = every account.',
    nonEmptyIfSet(),
  ),
  META_ACCOUNT_TOKENS: described(
    'Per-account tokens as a JSON object {"<account id>": "<token>"} (direct values; the local stack).',
    nonEmptyIfSet(),
  ),
  META_INSTAGRAM_LOGIN_ACCOUNT_IDS: described(
    'Instagram accounts served through Instagram Login (graph.instagram.com, their own Instagram user token, no Page); need per-account tokens.',
    nonEmptyIfSet(),
  ),
  INSTAGRAM_API_URL: described(
    'The Instagram Login Graph origin (default https://graph.instagram.com; a local stand-in in tests).',
    z.optional(z.url()),
  ),
  META_ACCOUNT_TOKEN_PARAM_PREFIX: described(
    'Per-account tokens from SSM SecureStrings named <prefix><account id>, one per META_ACCOUNT_IDS entry.',
    nonEmptyIfSet(),
  ),
});

/** Account ids as the webhook produces them (printable ASCII, ≤ 63 characters). */
const ACCOUNT_ID = /^[\x21-\x7e]{1,63}$/;

const accountSecret = (accountId: string): AccountTokenSecret => `account:${accountId}`;

const invalid = (message: string) => new ConfigError(`invalid configuration — ${message}`);

/** META_ACCOUNT_IDS as a set, or undefined when unset (every account is answered). */
export const accountIdsOf = (env: Env): ReadonlySet<string> | undefined => {
  const raw = env.META_ACCOUNT_IDS?.trim();
  if (!raw) return undefined;
  const ids = raw.split(/[\s,]+/).filter((id) => id !== '');
  const bad = ids.filter((id) => !ACCOUNT_ID.test(id));
  if (bad.length > 0)
    throw invalid(`META_ACCOUNT_IDS: ${bad.length} id(s) are not 1-63 printable characters`);
  return new Set(ids);
};

/** META_ACCOUNT_TOKENS parsed; the message names the variable, never a value. */
const directTokens = (raw: string): Record<string, SecretSource> => {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw invalid('META_ACCOUNT_TOKENS: must be a JSON object of account id → token (it is not JSON)');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid('META_ACCOUNT_TOKENS: must be a JSON object of account id → token');
  }
  const entries = Object.entries(json);
  if (entries.some(([id, token]) => !ACCOUNT_ID.test(id) || typeof token !== 'string' || token === '')) {
    throw invalid('META_ACCOUNT_TOKENS: every key must be an account id and every value a non-empty token');
  }
  return Object.fromEntries(entries.map(([id, token]) => [id, { value: token as string }]));
};

/**
 * Where each account's token comes from (as secret sources the start-up resolves and redacts), or
 * undefined in one-token mode.
 */
export const accountTokenSources = (env: Env): Record<AccountTokenSecret, SecretSource> | undefined => {
  const ids = accountIdsOf(env);
  const tokens = parseEnv(accountsEnvSchema, env);
  const direct = tokens.META_ACCOUNT_TOKENS?.trim();
  const prefix = tokens.META_ACCOUNT_TOKEN_PARAM_PREFIX?.trim();
  if (direct && prefix) throw invalid('set META_ACCOUNT_TOKENS or META_ACCOUNT_TOKEN_PARAM_PREFIX, not both');
  if (!direct && !prefix) return undefined;
  if (env.META_PAGE_ACCESS_TOKEN || env.META_PAGE_ACCESS_TOKEN_PARAM) {
    throw invalid(
      'per-account tokens are set: remove META_PAGE_ACCESS_TOKEN(_PARAM), no account may use a shared token',
    );
  }
  const byAccount: Record<string, SecretSource> = direct
    ? directTokens(direct)
    : Object.fromEntries([...(ids ?? [])].map((id) => [id, { param: `${prefix}${id}` }]));
  if (prefix && ids === undefined) throw invalid('META_ACCOUNT_TOKEN_PARAM_PREFIX needs META_ACCOUNT_IDS');
  const missing = [...(ids ?? [])].filter((id) => byAccount[id] === undefined);
  if (missing.length > 0)
    throw invalid(`META_ACCOUNT_TOKENS: no token for ${missing.length} of META_ACCOUNT_IDS`);
  return Object.fromEntries(Object.entries(byAccount).map(([id, source]) => [accountSecret(id), source]));
};

/** Resolved `account:<id>` secrets → `{<id>: token}` for the Graph client. */
export const accountTokensOf = (resolved: Record<AccountTokenSecret, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(resolved).map(([name, token]) => [name.slice('account:'.length), token]));

/** Instagram API with Instagram Login: its own Graph origin (Meta, Instagram Platform → Messaging API). */
export const INSTAGRAM_LOGIN_ORIGIN = 'https://graph.instagram.com';

export type InstagramLogin = { baseUrl: string; accounts: ReadonlySet<string> };

const listOf = (raw: string): string[] => raw.split(/[\s,]+/).filter((id) => id !== '');

/**
 * Instagram professional accounts on "Instagram API with Instagram Login" (no linked Page; an Instagram
 * user token with `instagram_business_manage_messages`): `META_INSTAGRAM_LOGIN_ACCOUNT_IDS`, answered on
 * `INSTAGRAM_API_URL` (default graph.instagram.com) with their own token. They need per-account tokens — an
 * Instagram user token is never a Page token — and, when META_ACCOUNT_IDS is set, must be among them.
 */
export const instagramLoginOf = (env: Env): InstagramLogin | undefined => {
  const { META_INSTAGRAM_LOGIN_ACCOUNT_IDS: raw } = parseEnv(accountsEnvSchema, env);
  if (!raw?.trim()) return undefined;
  const ids = listOf(raw);
  if (ids.some((id) => !ACCOUNT_ID.test(id)))
    throw invalid('META_INSTAGRAM_LOGIN_ACCOUNT_IDS: every id must be 1-63 printable characters');
  if (!env.META_ACCOUNT_TOKENS?.trim() && !env.META_ACCOUNT_TOKEN_PARAM_PREFIX?.trim())
    throw invalid(
      'META_INSTAGRAM_LOGIN_ACCOUNT_IDS needs per-account tokens (META_ACCOUNT_TOKENS or META_ACCOUNT_TOKEN_PARAM_PREFIX)',
    );
  const answered = accountIdsOf(env);
  if (answered !== undefined && ids.some((id) => !answered.has(id)))
    throw invalid('META_INSTAGRAM_LOGIN_ACCOUNT_IDS: every id must also be in META_ACCOUNT_IDS');
  const baseUrl = parseEnv(accountsEnvSchema, env).INSTAGRAM_API_URL ?? INSTAGRAM_LOGIN_ORIGIN;
  return { baseUrl, accounts: new Set(ids) };
};
