/**
 * Did a request that got no answer reach Meta? Only a failure before the request's bytes left proves it did
 * not: the connection was refused, the name did not resolve, the host or network was unreachable, TLS failed
 * (the handshake precedes the request), or our deadline fired while still connecting. A reset, a closed
 * socket ("socket hang up") or our deadline once connected leave the outcome unknown: Meta may have
 * accepted the message (the Send API has no idempotency key to ask).
 */
import { asRecord } from '../../platform/records.ts';

/** Codes node:net / node:dns raise before a connection exists (Node "Common system errors", dns docs). */
const BEFORE_SENDING = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

/** OpenSSL/Node TLS verification and handshake failures carry these prefixes. */
const TLS_PREFIXES = ['ERR_TLS_', 'ERR_SSL_', 'UNABLE_TO_', 'CERT_'];

/** node:net, node:dns and node:tls errors carry their code on the error itself. */
const codeOf = (error: unknown): string | undefined => {
  const code = asRecord(error)?.code;
  return typeof code === 'string' ? code : undefined;
};

export type NoAnswer = {
  error: unknown;
  /** A socket was ready for the request (TCP connected, TLS done): from then on bytes may have left. */
  connected: boolean;
  /** Our whole-request deadline fired. */
  timedOut: boolean;
};

/**
 * Provably not sent: no socket was ever ready for the request, and the failure says why — our deadline
 * (a connect or TLS handshake too slow, or no free socket) or a code raised before connecting. Both must
 * hold: a TLS error after the handshake (EPROTO on a live connection) may follow a request Meta has.
 */
export const provablyNotSent = ({ error, connected, timedOut }: NoAnswer): boolean => {
  if (connected) return false;
  if (timedOut) return true;
  const code = codeOf(error);
  if (code === undefined) return false;
  return BEFORE_SENDING.has(code) || TLS_PREFIXES.some((prefix) => code.startsWith(prefix));
};
