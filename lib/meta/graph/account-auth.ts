/**
 * Which token signs a call: the account's own (accountTokens, by Page / Instagram account / WhatsApp
 * phone-number id) or, in a single-account deployment, the one token. Builds each token's query string
 * (Meta's Send API examples pass access_token in the query, with appsecret_proof beside it) once, and one
 * redactor over every token, proof and the app secret, so no failure reason can carry any of them.
 */
import { redactor } from '../../platform/redaction.ts';

export type AccountAuth = {
  /** `access_token=…&appsecret_proof=…` for this account; undefined when it has no token. */
  queryFor: (accountId: string) => string | undefined;
  redact: (text: string) => string;
};

type Options = {
  accessToken?: string;
  accountTokens?: Readonly<Record<string, string>>;
  appSecret: string;
  /**
   * Accounts whose calls carry no appsecret_proof: Instagram-Login accounts, whose tokens belong to the
   * Instagram app (its own app secret, which Ellipsis does not hold) — a proof keyed with the Meta app
   * secret would be refused as invalid.
   */
  withoutProof?: ReadonlySet<string>;
};

export const accountAuth = (
  options: Options,
  proofOf: (accessToken: string, appSecret: string) => string,
): AccountAuth => {
  const queries = new Map<string, string>();
  const secrets = [options.appSecret];
  const queryOf = (token: string, withProof = true): string => {
    secrets.push(token);
    if (!withProof) return `access_token=${encodeURIComponent(token)}`;
    const proof = proofOf(token, options.appSecret);
    secrets.push(proof);
    return `access_token=${encodeURIComponent(token)}&appsecret_proof=${proof}`;
  };
  for (const [account, token] of Object.entries(options.accountTokens ?? {}))
    queries.set(account, queryOf(token, !options.withoutProof?.has(account)));
  const single = options.accessToken !== undefined ? queryOf(options.accessToken) : undefined;
  const redact = redactor(secrets);
  return {
    // Per-account tokens, when configured, are the only ones used: an unknown account gets none.
    queryFor: (accountId) => (options.accountTokens !== undefined ? queries.get(accountId) : single),
    redact,
  };
};
