/**
 * Did a request that got no answer reach Meta? Only a failure before the request's bytes left proves it did
 * not: the connection was refused, the name did not resolve, the host or network was unreachable, the
 * connect timed out, or TLS failed (the handshake precedes the request). A reset, a closed socket or a
 * timeout after connecting — and our own deadline, which cannot tell where the request was — leave the
 * outcome unknown: Meta may have accepted the message (the Send API has no idempotency key to ask).
 */
import { asRecord } from '../platform/records.ts';

/** Node/undici error codes raised before any request byte is written. */
const BEFORE_SENDING = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

/** OpenSSL/Node TLS verification and handshake failures carry these prefixes. */
const TLS_PREFIXES = ['ERR_TLS_', 'ERR_SSL_', 'UNABLE_TO_', 'CERT_'];

/** The error's code, or its cause's (undici wraps some socket errors). */
const codeOf = (error: unknown): string | undefined => {
  const record = asRecord(error);
  const code = record?.code;
  if (typeof code === 'string') return code;
  return record?.cause === undefined ? undefined : codeOf(record.cause);
};

export const provablyNotSent = (error: unknown, timedOut: boolean): boolean => {
  if (timedOut) return false;
  const code = codeOf(error);
  if (code === undefined) return false;
  return BEFORE_SENDING.has(code) || TLS_PREFIXES.some((prefix) => code.startsWith(prefix));
};
