/** Meta Graph API authentication for outgoing calls (the inbound side is lib/webhook/signature.ts). */
import { createHmac } from 'node:crypto';

/**
 * Meta Graph API, "Securing requests": appsecret_proof is the HMAC-SHA256 (hex) of the access token keyed
 * with the app secret; the sender adds it to every Graph call.
 */
export const appSecretProof = (accessToken: string, appSecret: string): string =>
  createHmac('sha256', appSecret).update(accessToken).digest('hex');
