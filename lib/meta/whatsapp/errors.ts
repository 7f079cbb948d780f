/**
 * WhatsApp Cloud API error codes on top of the generic Graph classification (Meta, WhatsApp Cloud API →
 * Error codes; Throughput; "pair rate limits"). Real bodies with their sources: test/fixtures/whatsapp/.
 *
 * Graph answers most of these with HTTP 400, which the generic rules call permanent, so the codes decide:
 * - 130429 throughput (80 messages/s per number by default) and 131056 pair rate (about one message every
 *   6 s to one user, with bursts) are transient: waiting fixes them. A pair-rate retry waits at least 6 s;
 * - 131000 "Something went wrong" and 131016 "Service unavailable" are transient server faults;
 * - 131047 (more than 24 h since the user last wrote: only a template may be sent) is permanent and marks
 *   the user unreachable for free-form replies, like 131026 (undeliverable) and 131030 (not in the test
 *   number's allowed list) and 131021 (recipient is the sender);
 * - 131048 spam rate limit and 131049 marketing per-user limit are quality decisions: retrying worsens
 *   the number's standing, so permanent; every other 13xxxx is permanent by the generic rule.
 */
import type { GraphFailure } from '../graph/errors.ts';

export const WHATSAPP_TRANSIENT_CODES = new Set([130429, 131056, 131000, 131016]);
export const WHATSAPP_UNREACHABLE_CODES = new Set([131047, 131026, 131030, 131021]);
/** Meta, Cloud API throughput → pair rate limits: 1 message every 6 seconds to the same user. */
export const PAIR_RATE_RETRY_MS = 6_000;

export const refineWhatsAppFailure = (failure: GraphFailure): GraphFailure => {
  const { code } = failure;
  // Stryker disable next-line ConditionalExpression: equivalent as `false`: no code set below holds undefined, so it returns `failure` anyway
  if (code === undefined) return failure;
  if (WHATSAPP_TRANSIENT_CODES.has(code)) {
    const floor = code === 131056 ? PAIR_RATE_RETRY_MS : 0;
    const retryAfterMs = Math.max(failure.retryAfterMs ?? 0, floor) || undefined;
    // Stryker disable next-line ConditionalExpression: equivalent as `true`: an undefined retryAfterMs key reads as absent (`?? …` everywhere)
    return { ...failure, kind: 'transient', ...(retryAfterMs !== undefined && { retryAfterMs }) };
  }
  if (WHATSAPP_UNREACHABLE_CODES.has(code))
    return { ...failure, kind: 'permanent', recipientUnreachable: true };
  if (code === 131048 || code === 131049) return { ...failure, kind: 'permanent' };
  return failure;
};
