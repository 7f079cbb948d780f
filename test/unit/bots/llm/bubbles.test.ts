import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bubbleSplitter, cutPoint, splitBubbles } from '../../../../lib/bots/llm/bubbles.ts';

/** Text built from words, sentence ends, line breaks, blank lines and emoji: what an LLM writes. */
const piece = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'é', '字'), minLength: 1, maxLength: 12 }),
  },
  { weight: 3, arbitrary: fc.constantFrom(' ', '. ', '! ', '? ', '…', '." ', '\t') },
  { weight: 2, arbitrary: fc.constantFrom('\n', '\n\n', '\n \n', '\r\n\r\n', '\n\n\n') },
  { weight: 1, arbitrary: fc.constantFrom('😀', '👨‍👩‍👧', '🏽') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
);
const llmText = fc.array(piece, { maxLength: 120 }).map((parts) => parts.join(''));
const maxChars = fc.integer({ min: 20, max: 300 });

/** Splits `text` into deltas at the given cut positions (any chunking a stream could produce). */
const chunked = (text: string, cuts: readonly number[]): string[] => {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const p of points) {
    out.push(text.slice(from, p));
    from = p;
  }
  out.push(text.slice(from));
  return out;
};

const streamed = (deltas: readonly string[], max: number): string[] => {
  const splitter = bubbleSplitter(max);
  return [...deltas.flatMap((d) => splitter.push(d)), ...splitter.end()];
};

const nonSpace = (text: string): string => text.replace(/\s/g, '');

describe('bubble splitter', () => {
  it('makes one bubble per paragraph, emitted as soon as its blank line arrives', () => {
    const splitter = bubbleSplitter(1000);
    expect(splitter.push('Hello there!')).toEqual([]);
    expect(splitter.push('\n')).toEqual([]);
    expect(splitter.push('\nSecond')).toEqual(['Hello there!']);
    expect(splitter.push(' paragraph.\n\n\nThird')).toEqual(['Second paragraph.']);
    expect(splitter.end()).toEqual(['Third']);
  });

  it('keeps single line breaks inside a bubble (lists stay together)', () => {
    expect(splitBubbles('Options:\n- one\n- two\n\nPick one.', 1000)).toEqual([
      'Options:\n- one\n- two',
      'Pick one.',
    ]);
  });

  it('cuts a long paragraph at a sentence end, then at a space, then hard', () => {
    const sentences = 'First sentence here. Second one is a bit longer! Third?';
    expect(splitBubbles(sentences, 30)).toEqual([
      'First sentence here.',
      'Second one is a bit longer!',
      'Third?',
    ]);
    expect(splitBubbles('aaaa bbbb cccc dddd', 10)).toEqual(['aaaa bbbb', 'cccc dddd']);
    expect(splitBubbles('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('never cuts an emoji in half on a hard cut', () => {
    const text = `${'x'.repeat(9)}😀${'y'.repeat(5)}`;
    expect(cutPoint(text, 10)).toBe(9);
    expect(splitBubbles(text, 10)).toEqual(['x'.repeat(9), `😀${'y'.repeat(5)}`]);
  });

  it('yields nothing for an empty or blank answer', () => {
    expect(splitBubbles('', 100)).toEqual([]);
    expect(splitBubbles(' \n\n \t\n', 100)).toEqual([]);
  });

  it('property: no empty bubble, none over the limit, no edge whitespace', () => {
    fc.assert(
      fc.property(llmText, maxChars, (text, max) => {
        for (const bubble of splitBubbles(text, max)) {
          expect(bubble.length).toBeGreaterThan(0);
          expect(bubble.length).toBeLessThanOrEqual(max);
          expect(bubble).toBe(bubble.trim());
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: the bubbles concatenated keep every non-space character in order, each one a piece of the text', () => {
    fc.assert(
      fc.property(llmText, maxChars, (text, max) => {
        const bubbles = splitBubbles(text, max);
        expect(nonSpace(bubbles.join(''))).toBe(nonSpace(text));
        let from = 0;
        for (const bubble of bubbles) {
          const at = text.indexOf(bubble, from);
          expect(at).toBeGreaterThanOrEqual(from);
          from = at + bubble.length;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: how the stream is chunked never changes the bubbles', () => {
    fc.assert(
      fc.property(llmText, maxChars, fc.array(fc.nat(), { maxLength: 40 }), (text, max, cuts) => {
        expect(streamed(chunked(text, cuts), max)).toEqual(splitBubbles(text, max));
      }),
      { numRuns: 500 },
    );
  });

  it('property: a bubble fits the Messenger limit at the largest setting', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 6000 }), (text) => {
        for (const bubble of splitBubbles(text, 2000)) expect(bubble.length).toBeLessThanOrEqual(2000);
      }),
      { numRuns: 100 },
    );
  });
});
