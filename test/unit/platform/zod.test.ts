import { describe, expect, it } from 'vitest';
import { loadPlanConfig } from '../../../lib/platform/config.ts';
import { describeIssues } from '../../../lib/platform/issues.ts';
import { z } from '../../../lib/platform/zod.ts';

const messageOf = (schema: z.ZodMiniType, value: unknown): string => {
  const r = schema.safeParse(value);
  return r.success ? 'accepted' : describeIssues(r.error.issues);
};

describe('lib/platform/zod.ts', () => {
  // zod/mini's own messages are all "Invalid input": these are the English locale's, as classic zod said them.
  it("gives every field error zod's English reason", () => {
    expect(messageOf(z.string().check(z.minLength(1)), '')).toBe(
      '(root): Too small: expected string to have >=1 characters',
    );
    expect(messageOf(z.object({ n: z.number() }), { n: 'x' })).toBe(
      'n: Invalid input: expected number, received string',
    );
    expect(messageOf(z.enum(['finish', 'restart']), 'later')).toBe(
      '(root): Invalid option: expected one of "finish"|"restart"',
    );
    expect(messageOf(z.url(), 'nope')).toBe('(root): Invalid URL');
  });

  it('keeps the reason in configuration errors, naming the variable', () => {
    expect(() => loadPlanConfig({ PLAN_TYPING_REFRESH_MS: '5' })).toThrow(
      'invalid configuration — PLAN_TYPING_REFRESH_MS: Too small: expected number to be >=1000',
    );
    expect(() => loadPlanConfig({ PLAN_READ_MIN_MS: '1.5' })).toThrow(
      'PLAN_READ_MIN_MS: Invalid input: expected int, received number',
    );
  });
});
