/**
 * Interprets a complete Graph Send API response: success, or a classified failure carrying the usage
 * reading and how long Graph asked us to wait (Retry-After, or the usage headers' regain time on a throttle).
 */
import { asRecord } from '../../platform/records.ts';
import { classifyGraphError, type GraphFailure, graphErrorOf, isThrottle } from './errors.ts';
import { parseRetryAfter } from './retry-after.ts';
import { type GraphUsage, parseUsage, type ResponseHeaders } from './usage.ts';

/**
 * What a channel adds (lib/meta/outbound-shape.ts): its success body (the Send API's `recipient_id` by
 * default) and its own error codes on top of classifyGraphError.
 */
export type ChannelResponseRules = {
  isExpectedSuccess?: (body: Record<string, unknown>) => boolean;
  refineFailure?: (failure: GraphFailure) => GraphFailure;
};

export type GraphResponseOutcome =
  | { ok: true; usage?: GraphUsage; unexpectedBody?: boolean }
  | (GraphFailure & { usage?: GraphUsage });

/** JSON when it parses; otherwise the text itself (undefined when blank). */
const parseBody = (text: string): { body: unknown; isJson: boolean } => {
  try {
    return { body: JSON.parse(text), isJson: true };
  } catch {
    return { body: text.trim() === '' ? undefined : text, isJson: false };
  }
};

/** The wait Graph asked for: the longer of Retry-After and, on a throttle, estimated_time_to_regain_access. */
const askedWaitMs = (
  failure: GraphFailure,
  headers: ResponseHeaders,
  usage: GraphUsage | undefined,
  now: number,
): number | undefined => {
  const retryAfter = parseRetryAfter(headers['retry-after'], now);
  const regain = isThrottle(failure) && usage && usage.regainAccessMs > 0 ? usage.regainAccessMs : undefined;
  return Math.max(retryAfter ?? 0, regain ?? 0) || undefined;
};

/**
 * A body with `error` is an error whatever the status (Graph answers some errors with HTTP 200). A 2xx
 * whose body is not JSON, or JSON without `recipient_id`, counts as success with `unexpectedBody` set:
 * something accepted the request, and the Send API has no idempotency key, so a retry risks a visible
 * duplicate message while a false success at worst loses one step.
 */
export const interpretGraphResponse = (
  status: number,
  text: string,
  headers: ResponseHeaders = {},
  now = Date.now(),
  channel: ChannelResponseRules = {},
): GraphResponseOutcome => {
  const isExpectedSuccess = channel.isExpectedSuccess ?? ((b) => b.recipient_id !== undefined);
  const usage = parseUsage(headers);
  const withUsage = usage ? { usage } : {};
  const { body, isJson } = parseBody(text);
  const isError = graphErrorOf(body) !== undefined;
  if (status >= 200 && status < 300 && !isError) {
    const record = isJson ? asRecord(body) : undefined;
    const expected = record !== undefined && isExpectedSuccess(record);
    return { ok: true, ...withUsage, ...(!expected && { unexpectedBody: true }) };
  }
  // A 2xx carrying an error is classified by its code; give it a 400 so the status rule cannot call it fine.
  const generic = classifyGraphError(status >= 200 && status < 300 ? 400 : status, body);
  const failure = channel.refineFailure ? channel.refineFailure(generic) : generic;
  const retryAfterMs =
    Math.max(askedWaitMs(failure, headers, usage, now) ?? 0, failure.retryAfterMs ?? 0) || undefined;
  return {
    ...failure,
    status,
    ...withUsage,
    ...(failure.kind === 'transient' && retryAfterMs !== undefined && { retryAfterMs }),
  };
};
