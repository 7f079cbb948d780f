/**
 * Which accounts `npm start` serves with the local Graph fake: one Messenger Page, one Instagram account and
 * one WhatsApp number by default (local/defaults.ts), plus whatever ELLIPSIS_ACCOUNTS (a JSON file) or
 * ELLIPSIS_ACCOUNTS_JSON (the JSON itself) declares. The list is checked once, at start: a bad entry stops
 * `npm start` naming the variable and the field, never at the first message.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeIssues } from '../lib/platform/issues.ts';
import * as z from '../lib/platform/zod.ts';
import { channelSchema } from '../lib/queue/recipient.ts';
import { LOCAL_ACCOUNTS, LOCAL_PAGE_ID } from './defaults.ts';
import type { FakeAccount } from './graph-fake-channels.ts';

/** One declared account; without a token it gets a throwaway one of its own (tokens must differ). */
const declaredAccountSchema = z.strictObject({
  id: z.string().check(z.regex(/^\d{1,30}$/, 'must be the account id: 1-30 digits')),
  channel: channelSchema,
  accessToken: z.optional(z.string().check(z.minLength(1), z.maxLength(1000))),
  instagramLogin: z.optional(z.literal(true)),
});
const declaredAccountsSchema = z.array(declaredAccountSchema).check(z.maxLength(100));
type DeclaredAccount = z.infer<typeof declaredAccountSchema>;

type Env = Readonly<Record<string, string | undefined>>;

const asFakeAccount = (a: DeclaredAccount): FakeAccount => ({
  id: a.id,
  channel: a.channel,
  accessToken: a.accessToken ?? `local-${a.channel}-access-token-${a.id}`,
  ...(a.instagramLogin && { instagramLogin: true as const }),
});

/** The JSON text the environment declares, and the name of the variable it came from (for errors). */
const declaredText = (env: Env): { name: string; text: string } | undefined => {
  const file = env.ELLIPSIS_ACCOUNTS;
  const json = env.ELLIPSIS_ACCOUNTS_JSON;
  if (file && json) throw new Error('set ELLIPSIS_ACCOUNTS or ELLIPSIS_ACCOUNTS_JSON, not both');
  if (json) return { name: 'ELLIPSIS_ACCOUNTS_JSON', text: json };
  if (!file) return undefined;
  try {
    return { name: 'ELLIPSIS_ACCOUNTS', text: readFileSync(resolve(file), 'utf8') };
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable';
    throw new Error(`ELLIPSIS_ACCOUNTS: cannot read ${file} (${code})`);
  }
};

/** The declared accounts, validated; an error names the variable and each bad field. */
export const declaredAccounts = (env: Env): { name: string; accounts: FakeAccount[] } => {
  const declared = declaredText(env);
  if (declared === undefined) return { name: 'ELLIPSIS_ACCOUNTS', accounts: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(declared.text);
  } catch {
    throw new Error(
      `${declared.name} must be JSON: [{"id": "…", "channel": "messenger|instagram|whatsapp"}]`,
    );
  }
  const parsed = declaredAccountsSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${declared.name}: ${describeIssues(parsed.error.issues)}`);
  return { name: declared.name, accounts: parsed.data.map(asFakeAccount) };
};

/** Two accounts with one token would be one account to Graph (a token acts for one account). */
const refuseDuplicates = (name: string, accounts: readonly FakeAccount[]): void => {
  for (const key of ['id', 'accessToken'] as const) {
    const seen = new Set<string>();
    for (const a of accounts) {
      if (seen.has(a[key])) throw new Error(`${name}: two accounts share the ${key} of account ${a.id}`);
      seen.add(a[key]);
    }
  }
};

/**
 * The accounts the local stack serves: the defaults (the Messenger Page's id from ELLIPSIS_PAGE_ID when
 * set), then the declared ones; a declared account with a default's id replaces it.
 */
export const localAccounts = (env: Env): FakeAccount[] => {
  const { name, accounts: declared } = declaredAccounts(env);
  const pageId = env.ELLIPSIS_PAGE_ID || LOCAL_PAGE_ID;
  const defaults: FakeAccount[] = LOCAL_ACCOUNTS.map((a) =>
    a.channel === 'messenger' ? { ...a, id: pageId } : { ...a },
  );
  const replaced = new Set(declared.map((a) => a.id));
  const accounts = [...defaults.filter((a) => !replaced.has(a.id)), ...declared];
  refuseDuplicates(name, accounts);
  return accounts;
};
