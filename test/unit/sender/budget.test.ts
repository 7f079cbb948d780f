/**
 * The budget's pure decisions and its in-memory counter: each channel's budget under its published limit,
 * the degradation order (refreshes, then seen and typing, never a message), and Graph's rate refusals as a
 * flat signal rather than a backoff.
 */
import { describe, expect, it } from 'vitest';
import {
  accountBudget,
  budgetClassOf,
  budgetDecision,
  budgetSignalSeconds,
  MAX_DEFER_SPREAD_SECONDS,
  PUBLISHED_CALLS_PER_SECOND,
  signalDecision,
  takeCeiling,
} from '../../../lib/sender/budget.ts';
import { memoryBudgetStore } from '../../../lib/sender/budget-store.ts';

const tuning = { SENDER_BUDGET_SHARE: 0.8 };

describe('accountBudget', () => {
  it('keeps every channel under its published limit, WhatsApp leaving half to inbound', () => {
    expect(accountBudget('messenger', tuning)).toEqual({ calls: 240, messages: 32 });
    expect(accountBudget('instagram', tuning)).toEqual({ calls: 80 });
    expect(accountBudget('whatsapp', tuning)).toEqual({ calls: 32 });
    for (const channel of ['messenger', 'instagram', 'whatsapp'] as const)
      expect(accountBudget(channel, tuning).calls).toBeLessThan(PUBLISHED_CALLS_PER_SECOND[channel]);
  });

  it('takes a configured limit instead of the published one (an upgraded WhatsApp number)', () => {
    expect(accountBudget('whatsapp', { ...tuning, SENDER_ACCOUNT_CALLS_PER_SECOND: 1000 })).toEqual({
      calls: 400,
    });
    expect(
      accountBudget('instagram', { SENDER_BUDGET_SHARE: 0.05, SENDER_ACCOUNT_CALLS_PER_SECOND: 1 }),
    ).toEqual({ calls: 1 });
  });
});

describe('the degradation order', () => {
  it('classes: refreshes, other indicators, and what the user reads', () => {
    expect(budgetClassOf('typing_on', true)).toBe('refresh');
    expect(budgetClassOf('typing_on', false)).toBe('indicator');
    expect(budgetClassOf('mark_seen', false)).toBe('indicator');
    expect(budgetClassOf('typing_off', false)).toBe('indicator');
    for (const kind of ['message', 'react', 'unreact'] as const)
      expect(budgetClassOf(kind, false)).toBe('message');
  });

  it('in one hot second refreshes stop first, then seen and typing, and messages fill the rest', async () => {
    const store = memoryBudgetStore();
    const budget = accountBudget('instagram', tuning); // 80 calls/s
    const sent = { refresh: 0, indicator: 0, message: 0 };
    // 3× the budget offered, interleaved as many conversations would offer it.
    for (let i = 0; i < 240; i += 1) {
      const klass = (['refresh', 'indicator', 'message'] as const)[i % 3] ?? 'message';
      if (await store.take('acct', 100, takeCeiling(budget, klass))) sent[klass] += 1;
    }
    expect(sent.refresh + sent.indicator + sent.message).toBe(80);
    // Refreshes stop at 40 calls, indicators at 60, messages take every call left.
    expect(sent.refresh).toBeLessThan(sent.indicator);
    expect(sent.indicator).toBeLessThan(sent.message);
    expect(await store.take('acct', 100, takeCeiling(budget, 'message'))).toBe(false);
    expect(await store.take('acct', 101, takeCeiling(budget, 'refresh'))).toBe(true);
    expect(await store.take('other', 100, takeCeiling(budget, 'refresh'))).toBe(true);
  });

  it("Messenger's 40 messages/s: messages stop at 32 even with calls to spare", async () => {
    const store = memoryBudgetStore();
    const ceiling = takeCeiling(accountBudget('messenger', tuning), 'message');
    let sent = 0;
    for (let i = 0; i < 100; i += 1) if (await store.take('page', 7, ceiling)) sent += 1;
    expect(sent).toBe(32);
    expect(await store.take('page', 7, takeCeiling(accountBudget('messenger', tuning), 'indicator'))).toBe(
      true,
    );
  });

  it('a cosmetic step over budget is shed, a message deferred, and on its final receive sent', () => {
    const over = { taken: false, receiveCount: 3, finalReceive: false };
    expect(budgetDecision({ ...over, klass: 'refresh' }, () => 0.5)).toEqual({ kind: 'shed' });
    expect(budgetDecision({ ...over, klass: 'indicator' }, () => 0.5)).toEqual({ kind: 'shed' });
    expect(budgetDecision({ ...over, klass: 'message' }, () => 0.5)).toEqual({ kind: 'defer', seconds: 2 });
    expect(budgetDecision({ ...over, klass: 'message', finalReceive: true }, () => 0.5)).toEqual({
      kind: 'send',
    });
    expect(budgetDecision({ ...over, klass: 'refresh', taken: true }, () => 0.5)).toEqual({ kind: 'send' });
  });

  it("a message's deferral is 1 s plus a spread growing with its receives, capped", () => {
    const top = (receiveCount: number) =>
      budgetDecision({ klass: 'message', taken: false, receiveCount, finalReceive: false }, () => 1);
    expect(top(1)).toEqual({ kind: 'defer', seconds: 1 });
    expect(top(4)).toEqual({ kind: 'defer', seconds: 4 });
    expect(top(19)).toEqual({ kind: 'defer', seconds: MAX_DEFER_SPREAD_SECONDS });
  });
});

describe("Graph's rate refusals as the budget's signal", () => {
  it('lasts what Graph asked for, at least the window (pair: 6 s), at most a minute', () => {
    expect(budgetSignalSeconds(undefined)).toBe(1);
    expect(budgetSignalSeconds(2_500)).toBe(3);
    expect(budgetSignalSeconds(undefined, 6_000)).toBe(6);
    expect(budgetSignalSeconds(3_600_000)).toBe(60);
  });

  it('sheds a cosmetic step and defers a message flat for the signal', () => {
    expect(signalDecision('indicator', { scope: 'account', seconds: 3 })).toEqual({ kind: 'shed' });
    expect(signalDecision('message', { scope: 'pair', seconds: 6 })).toEqual({ kind: 'defer', seconds: 6 });
  });

  it('a saturated second refuses every class; the next one is open again', async () => {
    const store = memoryBudgetStore();
    await store.saturate('acct', 50, 2);
    expect(await store.take('acct', 50, { calls: 100 })).toBe(false);
    expect(await store.take('acct', 51, { calls: 100, messages: 100 })).toBe(false);
    expect(await store.take('acct', 52, { calls: 1 })).toBe(true);
  });
});
