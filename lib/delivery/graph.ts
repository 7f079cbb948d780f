/**
 * Graph Send API client: one POST /{version}/{pageId|me}/messages per step, over a keep-alive undici Pool.
 *
 * `sendAction` never throws: it returns `{ ok: true }` or a classified failure. Failures carry only status,
 * code, subcode, type, fbtrace_id and a redacted, truncated message — never the URL (it holds the token in
 * its query) and never the token, the app secret or the appsecret_proof.
 */
import { type Dispatcher, Pool } from 'undici';
import { redactor } from '../platform/telemetry.ts';
import { graphRecipientOf } from '../queue/inbound.ts';
import type { Action } from '../queue/step.ts';
import { appSecretProof } from './app-secret-proof.ts';

/** Rate-limit usage read from Graph's X-App-Usage / X-Page-Usage / X-Business-Use-Case-Usage headers. */
export type GraphUsage = {
  /** Highest percentage (call_count, total_cputime, total_time) across every header and use case. */
  maxPercent: number;
  /** Longest estimated_time_to_regain_access (Graph gives minutes), in ms; 0 when not throttled. */
  regainAccessMs: number;
};

export type GraphFailureKind = 'transient' | 'permanent';

export type GraphFailure = {
  ok: false;
  kind: GraphFailureKind;
  /** HTTP status; 0 when no response arrived (network error, timeout). */
  status: number;
  code?: number;
  subcode?: number;
  type?: string;
  fbtraceId?: string;
  /** Redacted, truncated: safe for logs. */
  reason: string;
  retryAfterMs?: number;
  recipientUnreachable?: boolean;
  tokenInvalid?: boolean;
};

export type SendResult =
  | { ok: true; latencyMs: number; usage?: GraphUsage; unexpectedBody?: boolean }
  | (GraphFailure & { latencyMs: number; usage?: GraphUsage });

export type SendActionRequest = { pageId: string; psid: string; action: Action };

/** A usage reading and when it was taken, kept by the client so the next invocation can see it. */
export type UsageReading = GraphUsage & { readAt: number };

export type GraphClient = {
  sendAction: (request: SendActionRequest) => Promise<SendResult>;
  /** The latest usage headers seen on any response, if any. */
  usage: () => UsageReading | undefined;
  close: () => Promise<void>;
};

// Graph error codes, from Meta's "Graph API error handling" guide and the Messenger Send API error-code
// reference (see shared corpus SOURCES.md). Codes not listed are permanent: see classifyGraphError.
/** 1 unknown, 2 service, 4 app throttled, 17 user throttled, 32 page throttled, 341 app limit, 613 rate
 * limit, 1200 temporary send failure, -1 "Send API unexpected internal error" (server-side fault). */
const TRANSIENT_CODES = new Set([1, 2, 4, 17, 32, 341, 613, 1200, -1]);
/** Throttling codes: the usage headers' estimated_time_to_regain_access applies to them. */
const THROTTLE_CODES = new Set([4, 17, 32, 341, 613]);
/** Graph rate-limiting overview: 80000–80014 are Business Use Case throttles (80006 = Messenger). */
const isBusinessUseCaseThrottle = (code: number): boolean => code >= 80_000 && code <= 80_014;
/** 190 invalid/expired token; 2500 "an active access token must be used" (missing token). */
const TOKEN_CODES = new Set([190, 2500]);
/**
 * 10 permission (incl. subcodes 2018278/2018065/2018108 outside the 24 h window, 1893063 page restricted),
 * 100 invalid parameter, 200–299 API permissions, 368 content blocked (Meta says wait and retry, but
 * 1346003 blocks the content itself: the same message fails again), 36000 attachment rejected.
 */
const isKnownPermanent = (code: number): boolean =>
  code === 10 || code === 100 || (code >= 200 && code <= 299) || code === 368 || code === 36000;
/** 551 "This person isn't available right now"; subcodes 1545041 (same) and 2018108 (not receiving). */
const UNREACHABLE_SUBCODES = new Set([1545041, 2018108]);

const MAX_REASON_LENGTH = 300;

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** Graph sends numbers; old or re-serialised bodies sometimes send numeric strings. Anything else: absent. */
const asInteger = (value: unknown): number | undefined => {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
};

const asText = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

const truncate = (text: string): string =>
  text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH)}…` : text;

/** The `error` object of a Graph body, or undefined when the body is not an error. */
export const graphErrorOf = (body: unknown): Record<string, unknown> | undefined => {
  const record = asRecord(body);
  if (!record || !('error' in record)) return undefined;
  return asRecord(record.error) ?? { message: typeof record.error === 'string' ? record.error : undefined };
};

/**
 * Classifies a failed Graph response. Pure and total: any status and any body (parsed JSON, a string,
 * undefined) give a result, never an exception.
 *
 * Order: `is_transient: true` wins (Graph says so explicitly); then a known code decides (a 500 carrying
 * code 190 is still a token problem); then, for unknown or absent codes, the HTTP status: 5xx, 408 and 429
 * are transient (an overloaded front end may wrap anything), everything else — including an unknown code
 * on a 4xx or 2xx — is permanent.
 *
 * Unknown codes are permanent on purpose: a retried step blocks its user's FIFO group for the whole retry
 * budget (minutes of silence, later replies held back) and may duplicate a message on success, while an
 * unknown code is far more often a request Graph will keep rejecting. Permanent failures are logged with
 * code, subcode and fbtrace_id and counted per code, so a new transient code shows up and can be added.
 */
export const classifyGraphError = (status: number, body: unknown): GraphFailure => {
  const error = graphErrorOf(body) ?? {};
  const code = asInteger(error.code);
  const subcode = asInteger(error.error_subcode);
  const type = asText(error.type);
  const fbtraceId = asText(error.fbtrace_id);
  const message = [error.message, error.error_user_msg, body]
    .map((candidate) => (typeof candidate === 'string' ? candidate.trim() : ''))
    .find((text) => text.length > 0);
  const reason = truncate(message ?? (status ? `HTTP ${status}` : 'no response'));
  const base = {
    ok: false as const,
    status,
    ...(code !== undefined && { code }),
    ...(subcode !== undefined && { subcode }),
    ...(type !== undefined && { type }),
    ...(fbtraceId !== undefined && { fbtraceId }),
    reason,
  };

  if (error.is_transient === true) return { ...base, kind: 'transient' };
  if (code !== undefined) {
    if (TRANSIENT_CODES.has(code) || isBusinessUseCaseThrottle(code)) return { ...base, kind: 'transient' };
    if (TOKEN_CODES.has(code)) return { ...base, kind: 'permanent', tokenInvalid: true };
    if (code === 551 || (subcode !== undefined && UNREACHABLE_SUBCODES.has(subcode)))
      return { ...base, kind: 'permanent', recipientUnreachable: true };
    if (isKnownPermanent(code)) return { ...base, kind: 'permanent' };
  }
  // Status 0: no response at all (network error, timeout) — the request may never have reached Graph.
  if (status === 0 || status >= 500 || status === 408 || status === 429)
    return { ...base, kind: 'transient' };
  return { ...base, kind: 'permanent' };
};

/** Is this failure a throttle, so the usage headers' regain time applies? */
const isThrottle = (failure: GraphFailure): boolean =>
  failure.status === 429 ||
  (failure.code !== undefined &&
    (THROTTLE_CODES.has(failure.code) || isBusinessUseCaseThrottle(failure.code)));

const headerText = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

const parseJsonHeader = (value: string | string[] | undefined): unknown => {
  const text = headerText(value);
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Collects the usage objects ({call_count, total_cputime, total_time, estimated_time_to_regain_access}). */
const usageObjects = (headers: Record<string, string | string[] | undefined>): Record<string, unknown>[] => {
  const out: Record<string, unknown>[] = [];
  for (const name of ['x-app-usage', 'x-page-usage', 'x-ad-account-usage']) {
    const usage = asRecord(parseJsonHeader(headers[name]));
    if (usage) out.push(usage);
  }
  // X-Business-Use-Case-Usage: {"<business id>": [{type, call_count, …}, …], …}
  const buc = asRecord(parseJsonHeader(headers['x-business-use-case-usage']));
  for (const entries of Object.values(buc ?? {})) {
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      const usage = asRecord(entry);
      if (usage) out.push(usage);
    }
  }
  return out;
};

/** Reads Graph's usage headers (Graph API "Rate Limits"); undefined when none is present or parsable. */
export const parseUsage = (
  headers: Record<string, string | string[] | undefined>,
): GraphUsage | undefined => {
  const objects = usageObjects(headers);
  if (objects.length === 0) return undefined;
  let maxPercent = 0;
  let regainMinutes = 0;
  for (const usage of objects) {
    for (const key of ['call_count', 'total_cputime', 'total_time', 'acc_id_util_pct']) {
      const value = Number(usage[key]);
      if (Number.isFinite(value)) maxPercent = Math.max(maxPercent, value);
    }
    const regain = Number(usage.estimated_time_to_regain_access);
    if (Number.isFinite(regain)) regainMinutes = Math.max(regainMinutes, regain);
  }
  return { maxPercent, regainAccessMs: regainMinutes * 60_000 };
};

/** Retry-After (RFC 9110): delay-seconds or an HTTP date. */
const parseRetryAfter = (value: string | string[] | undefined, now: number): number | undefined => {
  const text = headerText(value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
};

/**
 * Interprets a complete Graph response. A body with `error` is an error whatever the status (Graph answers
 * some errors with HTTP 200). A 2xx whose body is not JSON, or JSON without `recipient_id`, counts as
 * success with `unexpectedBody` set: something accepted the request, and the Send API has no idempotency
 * key, so a retry risks a visible duplicate message while a false success at worst loses one step.
 */
export const interpretGraphResponse = (
  status: number,
  text: string,
  headers: Record<string, string | string[] | undefined> = {},
  now = Date.now(),
): { ok: true; usage?: GraphUsage; unexpectedBody?: boolean } | (GraphFailure & { usage?: GraphUsage }) => {
  const usage = parseUsage(headers);
  const withUsage = usage ? { usage } : {};
  let body: unknown;
  let isJson = true;
  try {
    body = JSON.parse(text);
  } catch {
    isJson = false;
    body = text.trim() === '' ? undefined : text;
  }
  const isError = graphErrorOf(body) !== undefined;
  if (status >= 200 && status < 300 && !isError) {
    const expected = isJson && asRecord(body)?.recipient_id !== undefined;
    return { ok: true, ...withUsage, ...(!expected && { unexpectedBody: true }) };
  }
  // A 2xx carrying an error is classified by its code; give it a 400 so the status rule cannot call it fine.
  const failure = classifyGraphError(status >= 200 && status < 300 ? 400 : status, body);
  const retryAfter = parseRetryAfter(headers['retry-after'], now);
  const regain = isThrottle(failure) && usage && usage.regainAccessMs > 0 ? usage.regainAccessMs : undefined;
  const retryAfterMs = Math.max(retryAfter ?? 0, regain ?? 0) || undefined;
  return {
    ...failure,
    status,
    ...withUsage,
    ...(failure.kind === 'transient' && retryAfterMs !== undefined && { retryAfterMs }),
  };
};

/** The Graph request body for one step (Meta, Sender Actions; Send API reference). */
export const graphRequestBody = ({ psid, action }: SendActionRequest): Record<string, unknown> => {
  // A guest of the chat plugin has no PSID yet, only a user_ref (lib/queue/inbound.ts); Graph takes either.
  const recipient = graphRecipientOf(psid);
  if ('message' in action) return { recipient, messaging_type: 'RESPONSE', message: action.message };
  // Sender actions carry only recipient and sender_action (+ payload for react/unreact): no messaging_type.
  if (action.sender_action === 'react' || action.sender_action === 'unreact')
    return { recipient, sender_action: action.sender_action, payload: action.payload };
  return { recipient, sender_action: action.sender_action };
};

export type GraphClientOptions = {
  /** GRAPH_API_URL, e.g. https://graph.facebook.com (a path prefix is kept). */
  baseUrl: string;
  /** GRAPH_API_VERSION, e.g. v25.0. */
  version: string;
  accessToken: string;
  appSecret: string;
  /** Whole-request deadline (GRAPH_TIMEOUT_MS). */
  timeoutMs: number;
  /** Defaults to a keep-alive Pool on baseUrl's origin; tests pass a MockAgent. */
  dispatcher?: Dispatcher;
  connections?: number;
  now?: () => number;
};

const ERROR_NAME = /^[A-Za-z]+$/;

/** A network failure as a transient GraphFailure: error code/name and a redacted message, no URL. */
const networkFailure = (
  error: unknown,
  redact: (text: string) => string,
  timedOut: boolean,
): GraphFailure => {
  const record = asRecord(error) ?? {};
  const name = asText(record.code) ?? (ERROR_NAME.test(String(record.name)) ? String(record.name) : 'Error');
  const message = error instanceof Error ? error.message : String(error);
  const reason = timedOut ? 'timeout' : `network error ${name}: ${message}`;
  return { ok: false, kind: 'transient', status: 0, reason: truncate(redact(reason)) };
};

export const graphClient = (options: GraphClientOptions): GraphClient => {
  const now = options.now ?? Date.now;
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const dispatcher =
    options.dispatcher ??
    new Pool(base.origin, {
      connections: options.connections ?? 16,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  const proof = appSecretProof(options.accessToken, options.appSecret);
  // Meta's Send API examples pass the token in the query string; the URL is built here and never surfaced.
  const query = `access_token=${encodeURIComponent(options.accessToken)}&appsecret_proof=${proof}`;
  const redact = redactor([options.accessToken, options.appSecret, proof]);
  let lastUsage: UsageReading | undefined;

  const sendAction = async (request: SendActionRequest): Promise<SendResult> => {
    const pageId = request.pageId.trim() === '' ? 'me' : request.pageId;
    const path = `${prefix}/${options.version}/${encodeURIComponent(pageId)}/messages?${query}`;
    const started = now();
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const response = await dispatcher.request({
        origin: base.origin,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(graphRequestBody(request)),
        signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      // Redact the raw body before anything reads it: a reason derived from it is truncated later, and a
      // token cut in half by the truncation would no longer match the redactor.
      const text = redact(await response.body.text());
      const result = interpretGraphResponse(response.statusCode, text, response.headers, now());
      if (result.usage) lastUsage = { ...result.usage, readAt: now() };
      return { ...result, latencyMs: now() - started };
    } catch (error) {
      return { ...networkFailure(error, redact, signal.aborted), latencyMs: now() - started };
    }
  };

  return { sendAction, usage: () => lastUsage, close: () => dispatcher.close() };
};
