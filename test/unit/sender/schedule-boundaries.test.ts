/**
 * The sender schedule's edges, each where one comparison decides what the user sees: a wait of exactly the
 * inline limit, a sub-second rest of exactly the sleep limit, a typing step exactly as late as it may be, a
 * regain time that ends right now. Written for the mutants Stryker found alive in lib/sender/schedule.ts
 * (docs/mutation.md); the general rules are in schedule.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decideStep, dueTime, usageHold } from '../../../lib/sender/schedule.ts';
import { senderTuning as tuning } from '../../support/factories.ts';

const T0 = 1_700_000_000_000;
const timing = { receiveCount: 1, firstReceiveAt: T0 };
/** A step due `ms` after T0 on its timeline (enqueued at T0). */
const dueIn = (ms: number) => ({ delayMs: ms, dueAt: T0 + ms, plannedAt: T0 });

describe('dueTime at the floor', () => {
  it('names the timeline as the anchor when the floor falls exactly on it (the floor moved nothing)', () => {
    // Floor: first receive T0 + 1000 + half of 2000 = T0 + 2000, the timeline's own time.
    const due = dueTime(dueIn(2000), { receiveCount: 1, firstReceiveAt: T0 + 1000 }, undefined, tuning);
    expect(due).toEqual({ dueAt: T0 + 2000, anchor: 'sequence', catchUp: false });
    const moved = dueTime(dueIn(2000), { receiveCount: 1, firstReceiveAt: T0 + 1001 }, undefined, tuning);
    expect(moved).toEqual({ dueAt: T0 + 2001, anchor: 'first-receive', catchUp: false });
  });
});

describe('decideStep at its limits', () => {
  it('waits in-process for exactly SENDER_INLINE_WAIT_MS (an SQS round trip would cost more than it saves)', () => {
    const d = decideStep({ step: dueIn(tuning.SENDER_INLINE_WAIT_MS), timing, now: T0 }, tuning);
    expect(d).toMatchObject({ kind: 'wait', waitMs: tuning.SENDER_INLINE_WAIT_MS });
    const longer = decideStep({ step: dueIn(tuning.SENDER_INLINE_WAIT_MS + 1), timing, now: T0 }, tuning);
    expect(longer.kind).toBe('defer');
  });

  it('sleeps a sub-second rest of exactly SENDER_DEFER_MAX_SLEEP_MS rather than arriving late', () => {
    const limits = { ...tuning, SENDER_INLINE_WAIT_MS: 300, SENDER_DEFER_MAX_SLEEP_MS: 250 };
    const d = decideStep({ step: dueIn(2250), timing, now: T0 }, limits);
    expect(d).toMatchObject({ kind: 'defer', visibilitySeconds: 2 });
    const above = decideStep({ step: dueIn(2251), timing, now: T0 }, limits);
    expect(above).toMatchObject({ kind: 'defer', visibilitySeconds: 3 });
  });
});

describe('decideStep: a typing step in catch-up', () => {
  // Due at T0 + 40 s on its timeline; first received then, its 20 s floor is 20 s past the timeline:
  // beyond the 15 s catch-up threshold, so the pause is dropped and the step is due at T0 + 40 s.
  const typing = { ...dueIn(40_000), skippableAfterMs: 3000 };
  const caughtUp = { receiveCount: 1, firstReceiveAt: T0 + 40_000 };
  const at = (now: number) => decideStep({ step: typing, timing: caughtUp, now }, tuning);

  it('counts its lateness up to now, not to its (past) due time', () => {
    expect(at(T0 + 45_000)).toMatchObject({ kind: 'skip', latenessMs: 5000, due: { catchUp: true } });
  });

  it('is still shown when exactly as late as skippableAfterMs, or less', () => {
    expect(at(T0 + 43_000)).toMatchObject({ kind: 'send', due: { catchUp: true } });
    expect(at(T0 + 41_000)).toMatchObject({ kind: 'send', due: { catchUp: true } });
  });
});

describe('usageHold when the regain time ends', () => {
  it('holds nothing back once the regain time is reached, under the usage threshold', () => {
    const reading = { maxPercent: 10, regainAccessMs: 30_000, readAt: T0 };
    expect(usageHold(reading, T0 + 30_000, false, tuning)).toBeUndefined();
    expect(usageHold(reading, T0 + 29_999, false, tuning)).toEqual({ retryAfterMs: 1, usagePercent: 10 });
  });
});
