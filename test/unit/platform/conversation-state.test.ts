import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  disclosureDue,
  isWithheld,
  memoryConversationState,
  UNTIL_RETURNED,
} from '../../../lib/platform/conversation-state.ts';

const T = 1_800_000_000_000;

describe('conversation state', () => {
  it('a hold only lengthens the silence; release ends it at once', async () => {
    const state = memoryConversationState({ ttlMs: 60_000, now: () => T });
    await state.hold('p:u', { through: T + 900_000, reason: 'person', at: T });
    await state.hold('p:u', { through: T, reason: 'recipient', at: T });
    expect(await state.read('p:u')).toMatchObject({
      silentThrough: T + 900_000,
      reason: 'person',
      personAt: T,
    });
    await state.release('p:u', T + 5);
    expect(isWithheld(await state.read('p:u'), T + 6)).toBe(false);
    expect(isWithheld(await state.read('p:u'), T + 5)).toBe(true);
  });

  it('withholds exactly what began at or before the longest hold (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(1_000_000), { minLength: 1, maxLength: 8 }),
        fc.nat(2_000_000),
        async (holds, origin) => {
          const state = memoryConversationState({ ttlMs: 60_000, now: () => T });
          for (const h of holds) await state.hold('k', { through: T + h, reason: 'person', at: T });
          expect(isWithheld(await state.read('k'), T + origin)).toBe(origin <= Math.max(...holds));
        },
      ),
    );
  });

  it('discloses first, after a lapse, and after a person held the chat', () => {
    expect(disclosureDue({}, T, 1000)).toBe(true);
    expect(disclosureDue({ lastBotAt: T - 10 }, T, 1000)).toBe(false);
    expect(disclosureDue({ lastBotAt: T - 2000 }, T, 1000)).toBe(true);
    expect(disclosureDue({ lastBotAt: T - 10, personAt: T - 5 }, T, 1000)).toBe(true);
    expect(isWithheld({ silentThrough: UNTIL_RETURNED }, T)).toBe(true);
  });
});
