import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_VISIBILITY_SECONDS } from '../../../lib/queue/consumer/queue-writes.ts';
import {
  DEFERRAL_RECEIVES,
  decideStep,
  dueTime,
  isFinalReceive,
  retryAttempt,
  retryBudget,
  retryDelaySeconds,
  sendVerdict,
  USAGE_READING_FRESH_MS,
  usageHold,
} from '../../../lib/sender/schedule.ts';
import { senderTuning as tuning } from '../../support/factories.ts';

const T0 = 1_700_000_000_000;

describe('dueTime', () => {
  /** The second step of a sequence planned at T0: due on the timeline at T0 + delayMs. */
  const second = (delayMs: number) => ({ delayMs, dueAt: T0 + delayMs, plannedAt: T0 });

  it("places the step on its sequence timeline: the planner's anchor + the planned delays, not the enqueue time", () => {
    // Received 200 ms after its predecessor: the timeline absorbs that, the old first-receive anchor added it.
    // Enqueued 5 ms after planning: not added either (the responder paces the reply from the same anchor).
    const due = dueTime(
      second(3000),
      { receiveCount: 1, firstReceiveAt: T0 + 200, sentAt: T0 + 5 },
      undefined,
      tuning,
    );
    expect(due).toEqual({ dueAt: T0 + 3000, anchor: 'sequence', catchUp: false });
  });

  it('never places it before the planner’s own dueAt (an SQS clock behind the planner’s)', () => {
    const due = dueTime(
      second(3000),
      { receiveCount: 1, firstReceiveAt: T0 + 10, sentAt: T0 - 40 },
      undefined,
      tuning,
    );
    expect(due.dueAt).toBe(T0 + 3000);
  });

  it('keeps at least SENDER_MIN_PAUSE_RATIO of the pause after a late predecessor (this invocation)', () => {
    const due = dueTime(
      second(3000),
      { receiveCount: 1, firstReceiveAt: T0 - 50, sentAt: T0 },
      T0 + 2500,
      tuning,
    );
    expect(due).toEqual({ dueAt: T0 + 2500 + 1500, anchor: 'predecessor', catchUp: false });
  });

  it('keeps the floor after the first receive when the predecessor ran elsewhere', () => {
    const due = dueTime(
      second(3000),
      { receiveCount: 1, firstReceiveAt: T0 + 2000, sentAt: T0 },
      undefined,
      tuning,
    );
    expect(due).toEqual({ dueAt: T0 + 3500, anchor: 'first-receive', catchUp: false });
    const full = dueTime(
      second(3000),
      { receiveCount: 1, firstReceiveAt: T0 + 2000, sentAt: T0 },
      undefined,
      { ...tuning, SENDER_MIN_PAUSE_RATIO: 1 },
    );
    expect(full.dueAt).toBe(T0 + 5000);
  });

  it('keeps the same due time on every redelivery (deferred, retried, throttled)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: -5_000, max: 60_000 }),
        (delayMs, receiveCount, receivedAfter) => {
          const timing = { firstReceiveAt: T0 + receivedAfter, sentAt: T0 + 3 };
          const first = dueTime(second(delayMs), { receiveCount: 1, ...timing }, undefined, tuning);
          const later = dueTime(second(delayMs), { receiveCount, ...timing }, undefined, tuning);
          expect(later).toEqual(first);
        },
      ),
    );
  });

  it('falls back to the timeline when the queue gives no first-receive timestamp', () => {
    const due = dueTime(
      { delayMs: 3000, dueAt: T0 + 9000, plannedAt: T0 },
      { receiveCount: 3 },
      undefined,
      tuning,
    );
    expect(due).toEqual({ dueAt: T0 + 9000, anchor: 'sequence', catchUp: false });
  });

  it('stops adding pauses once even the floor would be more than the catch-up threshold late', () => {
    const anchor = T0 + 14_000; // predecessor finished 14 s after this step's planned time
    const step = { delayMs: 4000, dueAt: T0, plannedAt: T0 };
    const due = dueTime(step, { receiveCount: 1, firstReceiveAt: anchor }, undefined, tuning);
    expect(due).toEqual({ dueAt: anchor, anchor: 'first-receive', catchUp: true });
    // Exactly at the threshold the (shortened) pause is still honoured.
    const edge = dueTime(
      { ...step, delayMs: 2000 },
      { receiveCount: 1, firstReceiveAt: anchor },
      undefined,
      tuning,
    );
    expect(edge).toEqual({ dueAt: anchor + 1000, anchor: 'first-receive', catchUp: false });
  });

  it('never before the timeline, never below the floor, and the one or the other exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 900_000 }),
        fc.integer({ min: -60_000, max: 600_000 }),
        fc.integer({ min: 0, max: 2_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (delayMs, receivedAfter, enqueuedAfter, ratio) => {
          const step = second(delayMs);
          const timing = { receiveCount: 1, firstReceiveAt: T0 + receivedAfter, sentAt: T0 + enqueuedAfter };
          const t = { ...tuning, SENDER_MIN_PAUSE_RATIO: ratio };
          const due = dueTime(step, timing, undefined, t);
          const timeline = T0 + delayMs;
          const floor = timing.firstReceiveAt + Math.ceil(delayMs * ratio);
          if (due.catchUp) expect(due.dueAt).toBe(Math.max(timing.firstReceiveAt, timeline));
          else expect(due.dueAt).toBe(Math.max(timeline, floor));
          expect(due.dueAt).toBeGreaterThanOrEqual(step.dueAt);
        },
      ),
    );
  });
});

describe('decideStep', () => {
  const timing = { receiveCount: 1, firstReceiveAt: T0 };
  /** A step due `ms` after T0 on its timeline (enqueued at T0). */
  const dueIn = (ms: number) => ({ delayMs: ms, dueAt: T0 + ms, plannedAt: T0 });

  it('sends a step that is due', () => {
    const d = decideStep({ step: dueIn(0), timing, now: T0 + 30 }, tuning);
    expect(d.kind).toBe('send');
  });

  it('waits in-process for a remainder up to the inline limit', () => {
    const d = decideStep({ step: dueIn(600), timing, now: T0 + 20 }, tuning);
    expect(d).toMatchObject({ kind: 'wait', waitMs: 580 });
  });

  it('defers a longer wait: whole seconds to SQS, the redelivery waits the sub-second rest', () => {
    const d = decideStep({ step: dueIn(3000), timing, now: T0 + 20 }, tuning);
    expect(d).toMatchObject({ kind: 'defer', visibilitySeconds: 2 });
    const redelivered = decideStep(
      { step: dueIn(3000), timing: { ...timing, receiveCount: 2 }, now: T0 + 2030 },
      tuning,
    );
    expect(redelivered).toMatchObject({ kind: 'wait', waitMs: 970 });
  });

  it('never asks for visibility 0: under one whole second it waits even above the inline limit', () => {
    const d = decideStep({ step: dueIn(800), timing, now: T0 }, { ...tuning, SENDER_INLINE_WAIT_MS: 300 });
    expect(d).toMatchObject({ kind: 'wait', waitMs: 800 });
  });

  it('hands a sub-second wait above both limits to SQS as one second instead of sleeping it', () => {
    const lowLimits = { ...tuning, SENDER_INLINE_WAIT_MS: 300, SENDER_DEFER_MAX_SLEEP_MS: 250 };
    const d = decideStep({ step: dueIn(800), timing, now: T0 }, lowLimits);
    expect(d).toMatchObject({ kind: 'defer', visibilitySeconds: 1 });
    const short = decideStep({ step: dueIn(200), timing, now: T0 }, lowLimits);
    expect(short).toMatchObject({ kind: 'wait', waitMs: 200 });
  });

  it('never sends early, never sleeps more than the limits allow, never defers by 0 s (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 120_000 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 1000 }),
        (remaining, inline, maxSleep) => {
          const d = decideStep(
            { step: dueIn(remaining), timing, now: T0 },
            { ...tuning, SENDER_INLINE_WAIT_MS: inline, SENDER_DEFER_MAX_SLEEP_MS: maxSleep },
          );
          // In-process only up to the inline limit, or a sub-second wait short enough to sleep.
          if (d.kind === 'wait')
            expect(remaining <= inline || (remaining < 1000 && remaining <= maxSleep)).toBe(true);
          if (d.kind === 'defer') {
            expect(d.visibilitySeconds).toBeGreaterThanOrEqual(1);
            const landsAt = d.visibilitySeconds * 1000;
            // Early by at most what the redelivery may sleep, or late by under a second when rounded up.
            if (landsAt < remaining) expect(remaining - landsAt).toBeLessThanOrEqual(maxSleep);
            expect(Math.abs(landsAt - remaining)).toBeLessThan(1000);
          }
          if (d.kind === 'send') expect(remaining).toBe(0);
        },
      ),
    );
  });

  it('exact by default: a deferral lands at most 1 s before the due time, never after (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 900_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 5000 }),
        (delayMs, elapsed, inline) => {
          const now = T0 + elapsed;
          const d = decideStep(
            { step: dueIn(delayMs), timing, now },
            { ...tuning, SENDER_INLINE_WAIT_MS: inline, SENDER_CATCH_UP_AFTER_MS: 10_000_000 },
          );
          const due = T0 + delayMs;
          if (d.kind === 'send') expect(due).toBeLessThanOrEqual(now);
          if (d.kind === 'wait') expect(now + d.waitMs).toBe(due);
          if (d.kind === 'defer') {
            expect(d.visibilitySeconds).toBeGreaterThanOrEqual(1);
            expect(now + d.visibilitySeconds * 1000).toBeLessThanOrEqual(due);
            expect(due - (now + d.visibilitySeconds * 1000)).toBeLessThan(1000);
            expect(due - now).toBeGreaterThan(inline);
          }
          expect(d.kind).not.toBe('skip');
        },
      ),
    );
  });

  it('rounds a deferral up instead of leaving a remainder above SENDER_DEFER_MAX_SLEEP_MS to sleep', () => {
    const input = { step: dueIn(3000), timing, now: T0 + 20 };
    const cheap = { ...tuning, SENDER_DEFER_MAX_SLEEP_MS: 250 };
    expect(decideStep(input, cheap)).toMatchObject({ kind: 'defer', visibilitySeconds: 3 });
    expect(decideStep({ ...input, now: T0 + 900 }, cheap)).toMatchObject({
      kind: 'defer',
      visibilitySeconds: 2,
    });
  });

  it('clamps a deferral to the 12-hour visibility maximum', () => {
    const d = decideStep(
      {
        step: { delayMs: 0, dueAt: T0 + 20 * 3_600_000, plannedAt: T0 },
        timing: { receiveCount: 1 },
        now: T0,
      },
      tuning,
    );
    expect(d).toMatchObject({ kind: 'defer', visibilitySeconds: MAX_VISIBILITY_SECONDS });
  });

  it('skips a typing step in catch-up mode that runs later than its skippableAfterMs', () => {
    const step = { delayMs: 1000, dueAt: T0, plannedAt: T0, skippableAfterMs: 4000 };
    const late = decideStep(
      { step, timing: { receiveCount: 1, firstReceiveAt: T0 + 20_000 }, now: T0 + 20_000 },
      tuning,
    );
    expect(late).toMatchObject({ kind: 'skip', latenessMs: 20_000 });
    const onTime = decideStep({ step, timing: { receiveCount: 1, firstReceiveAt: T0 }, now: T0 }, tuning);
    expect(onTime.kind).not.toBe('skip');
  });

  it('still shows a late typing step below the catch-up threshold: its message keeps its pause', () => {
    const step = { delayMs: 1000, dueAt: T0, plannedAt: T0, skippableAfterMs: 4000 };
    const d = decideStep(
      { step, timing: { receiveCount: 1, firstReceiveAt: T0 + 5000 }, now: T0 + 6000 },
      tuning,
    );
    expect(d.kind).toBe('send');
  });

  it('never skips a step without skippableAfterMs, however late (messages)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 86_400_000 }),
        fc.integer({ min: 0, max: 900_000 }),
        (late, delayMs) => {
          const d = decideStep(
            {
              step: { delayMs, dueAt: T0, plannedAt: T0 },
              timing: { receiveCount: 5, firstReceiveAt: T0 + late },
              now: T0 + late,
            },
            tuning,
          );
          expect(d.kind).not.toBe('skip');
        },
      ),
    );
  });
});

describe('retry backoff', () => {
  it('grows exponentially from the base and is capped at the maximum (upper bound, random = 1)', () => {
    const upper = (receiveCount: number) => retryDelaySeconds({ receiveCount, random: () => 1 }, tuning);
    const firstRetry = 1 + DEFERRAL_RECEIVES;
    expect([0, 1, 2, 3].map((n) => upper(firstRetry + n))).toEqual([2, 4, 8, 16]);
    expect(upper(40)).toBe(300);
  });

  it('jitters over the whole range and never goes below one second', () => {
    expect(retryDelaySeconds({ receiveCount: 10, random: () => 0 }, tuning)).toBe(1);
    // receive 10 → attempt 8 → cap 2·2^7 = 256 s → half of it
    expect(retryDelaySeconds({ receiveCount: 10, random: () => 0.5 }, tuning)).toBe(128);
  });

  it('never retries sooner than Graph asked (Retry-After / regain time)', () => {
    expect(retryDelaySeconds({ receiveCount: 3, random: () => 0, retryAfterMs: 120_500 }, tuning)).toBe(121);
  });

  it('stays within [1 s, max(cap, asked)] and the visibility maximum (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 100_000_000 }), { nil: undefined }),
        (receiveCount, r, retryAfterMs) => {
          const d = retryDelaySeconds({ receiveCount, random: () => r, retryAfterMs }, tuning);
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(1);
          expect(d).toBeLessThanOrEqual(MAX_VISIBILITY_SECONDS);
          const asked = Math.ceil((retryAfterMs ?? 0) / 1000);
          expect(d).toBeLessThanOrEqual(Math.max(tuning.RETRY_MAX_SECONDS, asked, 1));
        },
      ),
    );
  });

  it('derives the retry budget from the redrive maxReceiveCount minus deferral receives', () => {
    expect(retryBudget(20)).toBe(20 - DEFERRAL_RECEIVES - 1);
    expect(retryBudget(2)).toBe(0);
    expect(retryAttempt(1)).toBe(1);
    expect(isFinalReceive(19, 20)).toBe(false);
    expect(isFinalReceive(20, 20)).toBe(true);
  });
});

describe('usageHold', () => {
  const reading = (maxPercent: number, regainAccessMs = 0, readAt = T0) => ({
    maxPercent,
    regainAccessMs,
    readAt,
  });

  it('holds a step back at the usage threshold, for at least the regain time', () => {
    expect(usageHold(reading(90), T0 + 10, false, tuning)).toEqual({ retryAfterMs: 0, usagePercent: 90 });
    expect(usageHold(reading(10, 60_000), T0 + 10_000, false, tuning)).toEqual({
      retryAfterMs: 50_000,
      usagePercent: 10,
    });
    expect(usageHold(reading(89), T0 + 10, false, tuning)).toBeUndefined();
  });

  it('ignores a missing or stale reading, and never holds the final receive', () => {
    expect(usageHold(undefined, T0, false, tuning)).toBeUndefined();
    expect(usageHold(reading(100, 600_000), T0 + USAGE_READING_FRESH_MS, false, tuning)).toBeUndefined();
    expect(usageHold(reading(100, 600_000), T0 + 10, true, tuning)).toBeUndefined();
  });

  it('holds exactly when fresh and (over the threshold or still regaining) (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.integer({ min: 0, max: 2 * USAGE_READING_FRESH_MS }),
        fc.boolean(),
        (percent, regainMs, age, finalReceive) => {
          const hold = usageHold(reading(percent, regainMs), T0 + age, finalReceive, tuning);
          const fresh = age < USAGE_READING_FRESH_MS;
          const limited = percent >= tuning.SENDER_USAGE_THRESHOLD_PERCENT || regainMs > age;
          expect(hold !== undefined).toBe(!finalReceive && fresh && limited);
          if (hold) expect(hold.retryAfterMs).toBe(Math.max(0, regainMs - age));
        },
      ),
    );
  });
});

describe('sendVerdict', () => {
  it('maps a Graph result and the receive to sent / retry / give-up / abort', () => {
    expect(sendVerdict({ ok: true }, false, 'message')).toBe('sent');
    expect(sendVerdict({ ok: true }, true, 'message')).toBe('sent');
    expect(sendVerdict({ ok: false, kind: 'transient' }, false, 'message')).toBe('retry');
    expect(sendVerdict({ ok: false, kind: 'transient' }, true, 'message')).toBe('give-up');
    expect(sendVerdict({ ok: false, kind: 'permanent' }, false, 'message')).toBe('abort');
    expect(sendVerdict({ ok: false, kind: 'permanent' }, true, 'typing_on')).toBe('abort');
  });

  it('never retries a message whose outcome is unknown; retries every repeatable action freely', () => {
    const unknown = { ok: false, kind: 'transient', outcomeUnknown: true } as const;
    expect(sendVerdict(unknown, false, 'message')).toBe('unknown');
    expect(sendVerdict(unknown, true, 'message')).toBe('unknown');
    for (const kind of ['mark_seen', 'typing_on', 'typing_off', 'react', 'unreact'] as const) {
      expect(sendVerdict(unknown, false, kind)).toBe('retry');
      expect(sendVerdict(unknown, true, kind)).toBe('give-up');
    }
  });
});
