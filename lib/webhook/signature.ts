/**
 * Meta webhook authentication.
 *
 * Meta, Webhooks "Validate payloads": every POST carries `X-Hub-Signature-256: sha256=<hex>`, the
 * HMAC-SHA256 of the raw request body keyed with the app secret. It is computed over the exact bytes
 * Meta sent (escaped unicode, `\/`, float literals and all), so it must be checked before any parsing
 * and never over a re-serialisation. The legacy SHA-1 `X-Hub-Signature` is not accepted on its own.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE_PREFIX = 'sha256=';
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** True only when `header` is `sha256=<64 hex>` and equals the HMAC of `rawBody`; never throws. */
export const verifySignature = (
  rawBody: Uint8Array,
  header: string | undefined,
  appSecret: string,
): boolean => {
  if (typeof header !== 'string' || appSecret.length === 0) return false;
  const trimmed = header.trim();
  if (trimmed.slice(0, SIGNATURE_PREFIX.length).toLowerCase() !== SIGNATURE_PREFIX) return false;
  const hex = trimmed.slice(SIGNATURE_PREFIX.length);
  if (!SHA256_HEX.test(hex)) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
};

/**
 * Constant-time string comparison (for the webhook verify token). Both sides are hashed first so inputs
 * of different lengths compare in the same time and timingSafeEqual always gets equal-length buffers.
 */
export const safeEqual = (a: string, b: string): boolean => {
  const digest = (s: string) => createHmac('sha256', 'ellipsis-safe-equal').update(s).digest();
  return timingSafeEqual(digest(a), digest(b)) && a === b;
};
