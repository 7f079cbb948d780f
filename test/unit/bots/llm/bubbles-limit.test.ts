/**
 * A long paragraph is cut at its LAST sentence end that fits, a sentence ending exactly at the bubble limit
 * included: the bubble is as full as the limit allows, as a person fills a message before sending the next.
 * Cutting at an earlier sentence end instead sends more, shorter bubbles, each with its own typing pause
 * (lib/bots/llm/bubbles.ts cutPoint). The `<=` there was a lesser mutation survivor (issue 25).
 */
import { describe, expect, it } from 'vitest';
import { cutPoint, splitBubbles } from '../../../../lib/bots/llm/bubbles.ts';

const MAX = 100; // LLM_MAX_BUBBLE_CHARS' lowest allowed value (lib/bots/llm/config.ts)
const first = 'Thanks for waiting, I checked your order.';
/** A second sentence padded so that the two end exactly at the limit. */
const second = `It left our warehouse this morning${'!'.repeat(MAX - first.length - 1 - 35)}.`;
const third = 'You should have it by Friday.';

describe('cutPoint at the bubble limit', () => {
  it('keeps a sentence that ends exactly at the limit in the bubble', () => {
    const text = `${first} ${second} ${third}`;
    expect(`${first} ${second}`).toHaveLength(MAX);
    expect(cutPoint(text, MAX)).toBe(MAX);
    expect(splitBubbles(text, MAX)).toEqual([`${first} ${second}`, third]);
  });

  it('cuts at the earlier sentence end when the later one runs past the limit', () => {
    const text = `${first} ${second}x ${third}`;
    expect(splitBubbles(text, MAX)[0]).toBe(first);
  });
});
