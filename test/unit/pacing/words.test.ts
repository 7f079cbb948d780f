import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countGraphemes, wordsIn } from '../../../lib/pacing/words.ts';

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

  it('segments ASCII text as ICU does (property over a UAX #29-heavy alphabet and all of ASCII)', () => {
    const icu = new Intl.Segmenter('en', { granularity: 'word' });
    const icuWords = (text: string) =>
      [...icu.segment(text)].filter((s) => s.isWordLike).map((s) => s.segment);
    const tricky = fc.constantFrom(...'aZq09_.,;:\'"- !?/@\n\t'.split(''));
    const ascii = fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c));
    for (const char of [tricky, ascii]) {
      fc.assert(
        fc.property(fc.array(char, { maxLength: 24 }), (chars) => {
          const text = chars.join('');
          expect(wordsIn(text)).toEqual(icuWords(text));
        }),
        { numRuns: 5000 },
      );
    }
  });

  it('joins what UAX #29 joins in ASCII and splits the rest', () => {
    expect(wordsIn("don't U.S.A. 3.14 3,000 a,b 1;2 a;b a:b 1:2 a_b _ __ A1.B2 a1.2")).toEqual([
      "don't",
      'U.S.A',
      '3.14',
      '3,000',
      'a',
      'b',
      '1;2',
      'a',
      'b',
      'a:b',
      '1',
      '2',
      'a_b',
      '__',
      'A1',
      'B2',
      'a1.2',
    ]);
  });

  it('segments non-ASCII text through ICU, mixed with ASCII', () => {
    expect(wordsIn('café au lait')).toEqual(['café', 'au', 'lait']);
    expect(wordsIn('ok 👍 merci!')).toEqual(['ok', 'merci']);
  });

  it('counts ASCII characters as ICU counts graphemes (property; CR LF is one)', () => {
    const icu = new Intl.Segmenter('en', { granularity: 'grapheme' });
    const ascii = fc.constantFrom('a', ' ', '\r', '\n', '\t', '\u0000', '~', '1');
    fc.assert(
      fc.property(fc.array(ascii, { maxLength: 24 }), (chars) => {
        const text = chars.join('');
        expect(countGraphemes(text)).toBe([...icu.segment(text)].length);
      }),
      { numRuns: 5000 },
    );
    expect(countGraphemes('a\r\nb\n\r')).toBe(5);
    expect(countGraphemes('👍🏽 ok')).toBe(4);
  });
});
