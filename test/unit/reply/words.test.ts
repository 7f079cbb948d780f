import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wordsIn } from '../../../lib/reply/words.ts';

describe('wordsIn', () => {
  it('splits on word boundaries, leaving punctuation and spaces out', () => {
    expect(wordsIn("Hi, what's up?")).toEqual(['Hi', "what's", 'up']);
    expect(wordsIn('  ... !!! ')).toEqual([]);
  });

  it('splits text written without spaces (ICU dictionaries)', () => {
    expect(wordsIn('東京に行きます').length).toBeGreaterThan(1);
  });

  it('returns pieces of the text, in order (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        let at = 0;
        for (const w of wordsIn(text)) {
          const i = text.indexOf(w, at);
          expect(i).toBeGreaterThanOrEqual(at);
          at = i + w.length;
        }
      }),
    );
  });
});
