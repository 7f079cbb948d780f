import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeIssues, fieldErrors, formatPath } from '../../../lib/platform/issues.ts';
import * as z from '../../../lib/platform/zod.ts';

describe('formatPath', () => {
  it('formats paths the way an operator reads JSON', () => {
    expect(formatPath([])).toBe('(root)');
    expect(formatPath(['replies', 0, 'message', 'quick_replies', 2, 'title'])).toBe(
      'replies[0].message.quick_replies[2].title',
    );
  });
});

describe('describeIssues', () => {
  const schema = z.strictObject({
    QUEUE_URL: z.url(),
    items: z.array(z.object({ n: z.number().check(z.maximum(3)) })),
  });

  it('names every broken field on one line, unknown keys one by one', () => {
    const r = schema.safeParse({ QUEUE_URL: 'nope', items: [{ n: 1 }, { n: 9 }], extra: 1, other: 2 });
    expect(r.success).toBe(false);
    if (r.success) return;
    const line = describeIssues(r.error.issues);
    expect(line).toMatch(/^QUEUE_URL: .+; items\[1\]\.n: .+; extra: unknown field; other: unknown field$/);
  });

  it('never echoes the input value, whatever it is (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 8 }).filter((s) => /^[a-z]{8,}$/.test(s)),
        (secret) => {
          const r = schema.safeParse({ QUEUE_URL: secret, items: [{ n: secret }] });
          if (r.success) return;
          expect(describeIssues(r.error.issues)).not.toContain(secret);
          expect(fieldErrors(r.error.issues).length).toBeGreaterThan(0);
        },
      ),
    );
  });
});
