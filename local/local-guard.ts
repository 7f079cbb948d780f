/**
 * Who may use the chat view and /local/*: they sign webhook events with the app secret (in real-Page mode
 * the real one) and stream every conversation, so they answer only the developer's own browser tab or
 * terminal — never a tunnel (the README exposes the webhook through one), never another web page.
 *
 * - Forwarded requests are refused: tunnels and reverse proxies (ngrok, cloudflared, nginx, Caddy) connect
 *   from loopback but add X-Forwarded-For / Forwarded (RFC 7239) / Via (RFC 9110 §7.6.3) or their own
 *   client-address header, so the socket's loopback address alone proves nothing.
 * - The Host header must name a loopback host: a tunnel keeps the public name by default, and DNS
 *   rebinding (a hostile name resolving to 127.0.0.1) sends its own name too.
 * - State-changing and reading routes need the per-start token the chat page carries (a cross-origin page
 *   cannot read it: the page is served without CORS headers), the same origin when the browser says
 *   (Origin, Sec-Fetch-Site), and POSTs a JSON content type: a text/plain or form POST is what a hostile
 *   page can send without a CORS preflight (Fetch standard, "CORS-safelisted request-header").
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Headers a proxy or tunnel adds; any of them marks a request that did not come from this machine. */
const FORWARDING_HEADERS = [
  'forwarded',
  'via',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'cf-connecting-ip',
  'true-client-ip',
  'x-client-ip',
] as const;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A fresh token per start: only a page this stack served (or a local process that read it) knows it. */
export const newLocalToken = (): string => randomBytes(24).toString('base64url');

const isLoopbackAddress = (address: string | undefined): boolean =>
  address !== undefined && (address === '::1' || /^127\./.test(address) || /^::ffff:127\./.test(address));

/** The host part of a Host header (`127.0.0.1:3000`, `[::1]:3000`, `localhost`). */
const hostName = (host: string): string => {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.split(':')[0] ?? '';
};

export type GuardRequest = {
  method: string;
  headers: IncomingHttpHeaders;
  remoteAddress: string | undefined;
  /** The token the request presents (header or query), if any. */
  token: string | undefined;
};

/** Why a request may not reach the chat page or its static files: undefined when it may. */
export const refuseNonLocal = (req: GuardRequest): string | undefined => {
  const forwardedBy = FORWARDING_HEADERS.find((name) => req.headers[name] !== undefined);
  if (forwardedBy !== undefined)
    return `forwarded request refused (${forwardedBy}): the chat view answers on this machine only`;
  if (!isLoopbackAddress(req.remoteAddress)) return 'only loopback clients may use the chat view';
  const host = req.headers.host ?? '';
  if (!LOOPBACK_HOSTS.has(hostName(host))) return `Host ${JSON.stringify(host)} is not a loopback name`;
  return undefined;
};

const sameToken = (given: string | undefined, expected: string): boolean => {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** Origin / Sec-Fetch-Site, when the browser sends them, must say the request comes from the chat page. */
const crossSite = (headers: IncomingHttpHeaders): string | undefined => {
  const origin = headers.origin;
  if (origin !== undefined && origin !== `http://${headers.host ?? ''}`)
    return `cross-origin request refused (Origin ${JSON.stringify(origin)})`;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `cross-site request refused (Sec-Fetch-Site ${site})`;
  return undefined;
};

/** Why a request may not use /local/*: undefined when it may. */
export const refuseLocalApi = (req: GuardRequest, expectedToken: string): string | undefined => {
  const nonLocal = refuseNonLocal(req);
  if (nonLocal !== undefined) return nonLocal;
  const cross = crossSite(req.headers);
  if (cross !== undefined) return cross;
  if (!sameToken(req.token, expectedToken))
    return 'missing or wrong local token (the chat page carries it: open the chat view)';
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (req.method === 'POST' && type !== 'application/json') return 'content-type must be application/json';
  return undefined;
};
