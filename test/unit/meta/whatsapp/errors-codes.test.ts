/**
 * WhatsApp's codes decide whatever the HTTP status says (lib/meta/whatsapp/errors.ts): a spam or marketing
 * limit (131048, 131049) is never retried even when Graph answers it with a 429 or a 5xx, since retrying
 * worsens the number's quality standing; the 6 s pair-rate floor applies to 131056 alone (Meta, WhatsApp
 * Cloud API → Error codes; Throughput → pair rate limits). Written for the Stryker survivors there.
 */
import { describe, expect, it } from 'vitest';
import { classifyGraphError } from '../../../../lib/meta/graph/errors.ts';
import { PAIR_RATE_RETRY_MS, refineWhatsAppFailure } from '../../../../lib/meta/whatsapp/errors.ts';

const failure = (status: number, code: number) => classifyGraphError(status, { error: { code } });

describe('refineWhatsAppFailure', () => {
  it.each([131048, 131049])('never retries quality limit %i, whatever the status', (code) => {
    for (const status of [429, 500, 503]) {
      expect(failure(status, code).kind).toBe('transient');
      expect(refineWhatsAppFailure(failure(status, code))).toMatchObject({ kind: 'permanent', code });
    }
  });

  it('waits the pair-rate floor for 131056 only: throughput and server faults retry on the usual backoff', () => {
    expect(refineWhatsAppFailure(failure(400, 131056)).retryAfterMs).toBe(PAIR_RATE_RETRY_MS);
    for (const code of [130429, 131000, 131016]) {
      const refined = refineWhatsAppFailure(failure(400, code));
      expect(refined.kind).toBe('transient');
      expect(refined.retryAfterMs).toBeUndefined();
    }
  });

  it('leaves a failure without a code as the generic rules classified it', () => {
    const timeout = classifyGraphError(0, undefined);
    expect(refineWhatsAppFailure(timeout)).toEqual(timeout);
  });
});
