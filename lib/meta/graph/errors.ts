/**
 * Graph error classification: which failures a retry can fix (transient) and which it cannot (permanent).
 * Pure and total — any status and any body give a result, never an exception.
 *
 * The code tables come from Meta's "Graph API error handling" guide and the Messenger Send API error-code
 * reference (see shared corpus SOURCES.md). Codes not listed are permanent: see classifyGraphError.
 */
import { asRecord } from '../../platform/records.ts';

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
  /** No answer, and the request may have reached Meta (network-errors.ts): a retry may duplicate it. */
  outcomeUnknown?: boolean;
};

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
 * 10 permission (incl. subcodes 2018278/2018065/2018108 outside the 24 h window; 1893063, the whole Page
 * temporarily restricted, is permanent for the step but the sender holds the account: lib/sender/account-hold.ts),
 * 100 invalid parameter, 200–299 API permissions, 368 content blocked (Meta says wait and retry, but
 * 1346003 blocks the content itself: the same message fails again), 36000 attachment rejected.
 */
const isKnownPermanent = (code: number): boolean =>
  code === 10 || code === 100 || (code >= 200 && code <= 299) || code === 368 || code === 36000;
/** 551 "This person isn't available right now"; subcodes 1545041 (same) and 2018108 (not receiving). */
const UNREACHABLE_SUBCODES = new Set([1545041, 2018108]);

const MAX_REASON_LENGTH = 300;

/** Graph sends numbers; old or re-serialised bodies sometimes send numeric strings. Anything else: absent. */
const asInteger = (value: unknown): number | undefined => {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
};

export const asText = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/** Failure reasons are logged: keep them short. */
export const truncateReason = (text: string): string =>
  text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH)}…` : text;

/** The `error` object of a Graph body, or undefined when the body is not an error. */
export const graphErrorOf = (body: unknown): Record<string, unknown> | undefined => {
  const record = asRecord(body);
  if (!record || !('error' in record)) return undefined;
  return asRecord(record.error) ?? { message: typeof record.error === 'string' ? record.error : undefined };
};

/** The identifying fields of a Graph error and a safe reason, before deciding its kind. */
const failureFields = (status: number, body: unknown) => {
  const error = graphErrorOf(body) ?? {};
  const code = asInteger(error.code);
  const subcode = asInteger(error.error_subcode);
  const type = asText(error.type);
  const fbtraceId = asText(error.fbtrace_id);
  const message = [error.message, error.error_user_msg, body]
    .map((candidate) => (typeof candidate === 'string' ? candidate.trim() : ''))
    .find((text) => text.length > 0);
  const fields = {
    ok: false as const,
    status,
    ...(code !== undefined && { code }),
    ...(subcode !== undefined && { subcode }),
    ...(type !== undefined && { type }),
    ...(fbtraceId !== undefined && { fbtraceId }),
    reason: truncateReason(message ?? (status ? `HTTP ${status}` : 'no response')),
  };
  return { fields, isTransient: error.is_transient === true };
};

type CodeVerdict = Pick<GraphFailure, 'kind' | 'tokenInvalid' | 'recipientUnreachable'>;

/** What a known code says, or undefined when the code is unknown (the HTTP status decides then). */
const kindOfCode = (code: number, subcode: number | undefined): CodeVerdict | undefined => {
  if (TRANSIENT_CODES.has(code) || isBusinessUseCaseThrottle(code)) return { kind: 'transient' };
  if (TOKEN_CODES.has(code)) return { kind: 'permanent', tokenInvalid: true };
  if (code === 551 || (subcode !== undefined && UNREACHABLE_SUBCODES.has(subcode)))
    return { kind: 'permanent', recipientUnreachable: true };
  if (isKnownPermanent(code)) return { kind: 'permanent' };
  return undefined;
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
  const { fields, isTransient } = failureFields(status, body);
  if (isTransient) return { ...fields, kind: 'transient' };
  const byCode = fields.code !== undefined ? kindOfCode(fields.code, fields.subcode) : undefined;
  if (byCode) return { ...fields, ...byCode };
  // Status 0: no response at all (network error, timeout) — the request may never have reached Graph.
  if (status === 0 || status >= 500 || status === 408 || status === 429)
    return { ...fields, kind: 'transient' };
  return { ...fields, kind: 'permanent' };
};

/** Is this failure a throttle, so the usage headers' regain time applies? */
export const isThrottle = (failure: GraphFailure): boolean =>
  failure.status === 429 ||
  (failure.code !== undefined &&
    (THROTTLE_CODES.has(failure.code) || isBusinessUseCaseThrottle(failure.code)));

/** A Graph failure's log fields (never a message body). */
export const failureAttributes = (failure: GraphFailure) => ({
  status: failure.status,
  code: failure.code,
  subcode: failure.subcode,
  type: failure.type,
  fbtraceId: failure.fbtraceId,
  reason: failure.reason,
});

/** The `code` metric dimension: Graph's code, else the HTTP status, else `network`. */
export const codeLabel = (failure: GraphFailure): string =>
  failure.code !== undefined ? String(failure.code) : failure.status ? `http${failure.status}` : 'network';

/**
 * Graph's per-second rate refusals, which say the *sending* is too fast rather than that this step is
 * wrong: 613 "Calls to this api have exceeded the rate limit" (Send API, per Page) and WhatsApp 130429
 * (throughput, per number) concern the whole account; WhatsApp 131056 (pair rate, ~1 message per 6 s to one
 * user) concerns one user. The sender treats them as its call budget's signal (lib/sender/budget.ts), not
 * as a failure of the step to retry on its own backoff.
 */
export const rateScopeOf = (failure: Pick<GraphFailure, 'code'>): 'account' | 'pair' | undefined => {
  if (failure.code === 613 || failure.code === 130_429) return 'account';
  return failure.code === 131_056 ? 'pair' : undefined;
};
