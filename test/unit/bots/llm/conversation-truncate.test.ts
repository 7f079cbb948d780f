/**
 * A single remembered turn too large for the history budget keeps the start of each text, and never half
 * an emoji: a lone UTF-16 surrogate is not text (String.prototype.isWellFormed), the LLM API would get it as
 * U+FFFD or reject the JSON, and every later prompt of that user would carry it (lib/bots/llm/conversation.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundHistory, historyBytes } from '../../../../lib/bots/llm/conversation.ts';

const T0 = 1_700_000_000_000;
/** The budget that leaves `units` UTF-16 units of each text (boundHistory: 12 bytes a unit + a 64-byte frame). */
const budgetFor = (units: number) => 64 + 12 * units;

describe('boundHistory: a turn cut to fit', () => {
  it('ends before an emoji the cut would split, and keeps one the cut leaves whole', () => {
    const [split] = boundHistory(
      [{ user: `abcd${'😀'.repeat(50)}`, assistant: 'ok', at: T0 }],
      5,
      budgetFor(5),
    );
    expect(split?.user).toBe('abcd');
    const [whole] = boundHistory(
      [{ user: `abc${'😀'.repeat(50)}`, assistant: 'ok', at: T0 }],
      5,
      budgetFor(5),
    );
    expect(whole?.user).toBe('abc😀');
    expect(whole?.assistant).toBe('ok');
  });

  it('cuts the answer the same way as the question', () => {
    const [kept] = boundHistory(
      [{ user: 'hi', assistant: `Sure${'👋'.repeat(80)}`, at: T0 }],
      5,
      budgetFor(7),
    );
    expect(kept?.assistant).toBe('Sure👋');
  });

  it('property: every text kept is well-formed and a start of what was said, within the budget', () => {
    const text = fc.string({
      unit: fc.constantFrom('a', 'é', '字', '😀', '👩‍👩‍👧', '"'),
      minLength: 1,
      maxLength: 400,
    });
    fc.assert(
      fc.property(text, text, fc.integer({ min: 64, max: 2000 }), (user, assistant, maxBytes) => {
        const [kept] = boundHistory([{ user, assistant, at: T0 }], 1, maxBytes);
        expect(kept?.user.isWellFormed()).toBe(true);
        expect(kept?.assistant.isWellFormed()).toBe(true);
        expect(user.startsWith(kept?.user ?? '!')).toBe(true);
        expect(assistant.startsWith(kept?.assistant ?? '!')).toBe(true);
        expect(historyBytes(kept ? [kept] : [])).toBeLessThanOrEqual(maxBytes);
      }),
      { numRuns: 300 },
    );
  });
});
