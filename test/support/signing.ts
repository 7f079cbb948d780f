/**
 * Meta's HMACs, computed here independently of lib/ so the tests stay an oracle for lib/webhook/signature.ts
 * and lib/meta/graph/app-secret-proof.ts:
 * - `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed by the app secret>` (legacy
 *   `X-Hub-Signature: sha1=…`) — Meta, Webhooks "Validate payloads";
 * - `appsecret_proof`: hex HMAC-SHA256 of the access token, keyed by the app secret — Meta, Graph API
 *   "Securing requests".
 */
import { createHmac } from 'node:crypto';

export type HmacAlgorithm = 'sha256' | 'sha1';

export const hmacHex = (algorithm: HmacAlgorithm, key: string, data: string | Uint8Array): string =>
  createHmac(algorithm, key).update(data).digest('hex');

/** The signature header's value for a body: `sha256=…` (or `sha1=…`). */
export const hubSignature = (
  body: string | Uint8Array,
  appSecret: string,
  algorithm: HmacAlgorithm = 'sha256',
) => `${algorithm}=${hmacHex(algorithm, appSecret, body)}`;

export const appSecretProofOf = (accessToken: string, appSecret: string): string =>
  hmacHex('sha256', appSecret, accessToken);
