/**
 * Which token signs a Graph call, and what never leaves in a failure reason (lib/meta/graph/account-auth.ts).
 * appsecret_proof is the HMAC-SHA256 of the token keyed by the app secret (Meta, "Securing Graph API
 * Requests"): with the token it proves the app, so it is redacted like one, bare or in a query.
 */
import { describe, expect, it } from 'vitest';
import { accountAuth } from '../../../../lib/meta/graph/account-auth.ts';
import { appSecretProof } from '../../../../lib/meta/graph/app-secret-proof.ts';

const APP_SECRET = 'app-secret-for-account-auth-tests';
const SHARED = 'EAAsharedPageToken000001';
const TOKENS = { PAGE_A: 'EAAtokenOfPageA00001', PAGE_B: 'EAAtokenOfPageB00002' };

describe('accountAuth: redaction', () => {
  it.each([
    ['the one token', { accessToken: SHARED }, SHARED],
    ["an account's token", { accountTokens: TOKENS }, TOKENS.PAGE_B],
  ])("redacts the bare appsecret_proof of %s (an echo of the request's JSON)", (_which, tokens, token) => {
    const auth = accountAuth({ ...tokens, appSecret: APP_SECRET }, appSecretProof);
    const proof = appSecretProof(token, APP_SECRET);
    const echoed = `upstream said: {"appsecret_proof":"${proof}","error":"invalid"} (${proof.slice(0, 20)}…)`;
    const redacted = auth.redact(echoed);
    expect(redacted).not.toContain(proof.slice(0, 12));
    expect(redacted).toContain('[redacted]');
    expect(redacted).toContain('"error":"invalid"');
  });

  it('redacts every token and the app secret, bare and in a query', () => {
    const auth = accountAuth({ accountTokens: TOKENS, appSecret: APP_SECRET }, appSecretProof);
    const text = `${auth.queryFor('PAGE_A')} ${TOKENS.PAGE_B} secret=${APP_SECRET}`;
    const redacted = auth.redact(text);
    for (const secret of [...Object.values(TOKENS), APP_SECRET]) expect(redacted).not.toContain(secret);
  });
});

describe('accountAuth: which token', () => {
  it('signs each account with its own token and proof', () => {
    const auth = accountAuth({ accountTokens: TOKENS, appSecret: APP_SECRET }, appSecretProof);
    expect(auth.queryFor('PAGE_A')).toBe(
      `access_token=${TOKENS.PAGE_A}&appsecret_proof=${appSecretProof(TOKENS.PAGE_A, APP_SECRET)}`,
    );
  });

  it('signs every account with the one token when no per-account tokens are set', () => {
    const auth = accountAuth({ accessToken: SHARED, appSecret: APP_SECRET }, appSecretProof);
    expect(auth.queryFor('ANY_PAGE')).toContain(`access_token=${SHARED}&`);
  });

  // The configuration refuses the two together (lib/platform/accounts.ts), so no deployment reaches this;
  // the rule still holds here: a shared token is never a fallback for an account without its own.
  it('gives an account without its own token none, even when a shared token is also handed in', () => {
    const auth = accountAuth(
      { accessToken: SHARED, accountTokens: TOKENS, appSecret: APP_SECRET },
      appSecretProof,
    );
    expect(auth.queryFor('PAGE_C')).toBeUndefined();
    expect(auth.queryFor('PAGE_A')).toContain(`access_token=${TOKENS.PAGE_A}&`);
  });
});
