/**
 * The turn's decisions at their edges, each where one comparison or clamp decides what the user gets: the
 * last deferral allowed, a turn with no prelude, a backoff drawn mid-range, an error that is not ours.
 * Written for the mutants Stryker found alive in lib/responder/turn.ts (docs/mutation.md); the general
 * rules are in turn.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { QueuedInbound } from '../../../lib/queue/inbound-codec.ts';
import { turnPolicySchema } from '../../../lib/responder/config.ts';
import {
  decideTurn,
  initialPace,
  isRetryableFailure,
  turnRetrySeconds,
} from '../../../lib/responder/turn.ts';
import { inboundEvent } from '../../support/factories.ts';

const T0 = 1_700_000_000_000;
const policy = turnPolicySchema.parse({
  RESPONDER_MAX_DEFERRALS: '3',
  RESPONDER_QUEUE_MAX_RECEIVE_COUNT: '10',
});
const message = (receivedAt: number, typingAt?: number): QueuedInbound => ({
  v: 1,
  event: inboundEvent(),
  receivedAt,
  ...(typingAt !== undefined && { typingAt }),
});

describe('decideTurn: the deferral budget', () => {
  it('defers on each of the first RESPONDER_MAX_DEFERRALS receives, then answers the user still typing', () => {
    const stillTyping = T0 + 100;
    const decisions = [1, 2, 3, 4].map(
      (receiveCount) => decideTurn({ inbounds: [message(T0)], receiveCount }, stillTyping, policy).kind,
    );
    expect(decisions).toEqual(['defer', 'defer', 'defer', 'run']);
  });
});

describe('initialPace without a prelude', () => {
  it('starts from nothing shown and nothing sent, so the first reply has no pause before its typing', () => {
    expect(initialPace([message(T0)])).toStrictEqual({ lastDueAt: 0, replies: 0 });
  });
});

describe('turnRetrySeconds: full jitter', () => {
  const base = { RESPONDER_RETRY_BASE_SECONDS: 2 };

  it('draws across the whole range: half the cap for a draw of one half', () => {
    expect(turnRetrySeconds(1, base, () => 0.5)).toBe(1);
    expect(turnRetrySeconds(3, base, () => 0.5)).toBe(4);
    expect(turnRetrySeconds(3, base, () => 0.26)).toBe(3);
  });

  it('clamps a source outside [0, 1] to the range ends', () => {
    expect(turnRetrySeconds(3, base, () => 7)).toBe(8);
    expect(turnRetrySeconds(3, base, () => -1)).toBe(1);
  });
});

describe('isRetryableFailure: what a responder may throw', () => {
  it('retries anything thrown that is not one of our errors, nothing at all included', () => {
    expect(isRetryableFailure(undefined)).toBe(true);
    expect(isRetryableFailure(null)).toBe(true);
    // Only our own errors are trusted to say a retry cannot help; a user module's look-alike is retried.
    expect(isRetryableFailure({ retryable: false, message: 'CRM said no' })).toBe(true);
  });
});
