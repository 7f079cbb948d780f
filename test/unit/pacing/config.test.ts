/** The typing model's settings: the bounds that keep what the user sees sane whatever an operator sets. */
import { describe, expect, it } from 'vitest';
import { loadPlanConfig, TYPING_BUBBLE_LIFETIME_MS } from '../../../lib/pacing/config.ts';
import { ConfigError } from '../../../lib/platform/errors.ts';

describe('typing model configuration', () => {
  it('keeps the typing refresh inside the shortest bubble lifetime (Messenger ~20 s, WhatsApp 25 s)', () => {
    expect(TYPING_BUBBLE_LIFETIME_MS).toBeLessThanOrEqual(20_000);
    expect(loadPlanConfig({ PLAN_TYPING_REFRESH_MS: '20000' }).PLAN_TYPING_REFRESH_MS).toBe(20_000);
    // A refresh the bubble does not live to see: typing would vanish mid-think.
    for (const tooLong of ['20001', '25000', '30000']) {
      expect(() => loadPlanConfig({ PLAN_TYPING_REFRESH_MS: tooLong })).toThrow(ConfigError);
      expect(() => loadPlanConfig({ PLAN_TYPING_REFRESH_MS: tooLong })).toThrow(/PLAN_TYPING_REFRESH_MS/);
    }
  });

  it('refuses a refresh so short a long wait explodes into steps', () => {
    expect(() => loadPlanConfig({ PLAN_TYPING_REFRESH_MS: '999' })).toThrow(/PLAN_TYPING_REFRESH_MS/);
  });

  it('refuses a time scale that is not a number, naming the variable', () => {
    expect(() => loadPlanConfig({ PLAN_TIME_SCALE: 'abc' })).toThrow(/PLAN_TIME_SCALE/);
  });

  it('applies documented defaults for the typing model', () => {
    const plan = loadPlanConfig({});
    expect(plan.PLAN_READ_WPM).toBe(238);
    expect(plan.PLAN_TYPING_REFRESH_MS).toBe(18_000);
    expect(plan.PLAN_TIME_SCALE).toBe(1);
  });

  it('coerces numeric variables and treats empty strings as unset', () => {
    const plan = loadPlanConfig({ PLAN_TIME_SCALE: '0.01', PLAN_TYPING_CPM: '' });
    expect(plan.PLAN_TIME_SCALE).toBe(0.01);
    expect(plan.PLAN_TYPING_CPM).toBe(loadPlanConfig({}).PLAN_TYPING_CPM);
  });
});
