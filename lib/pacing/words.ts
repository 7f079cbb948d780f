/**
 * Words and characters as a reader sees them: ICU's boundaries (Unicode UAX #29), so languages written
 * without spaces (CJK, Thai) split into words too, punctuation is not a word, and 👍🏽 is one character.
 * One definition for the planner (reading and typing time) and the rules responder (keyword matching).
 *
 * Constructing the first `Intl.Segmenter` in a process loads ICU's break data: ~7.7 ms, a quarter of the SQS
 * client's whole import (coldstart bench). Most messages are ASCII, where UAX #29 reduces to a few rules, so
 * ASCII text is segmented here and the segmenters are built on the first other text. Both agree on every
 * ASCII string: test/unit/pacing/words.test.ts checks it against ICU as a property.
 */

/** ASCII character classes of UAX #29's word-break properties. */
type WordBreak = 'letter' | 'digit' | 'connector' | 'midLetter' | 'midNum' | 'midNumLet' | 'other';

const MARKS: Readonly<Record<string, WordBreak>> = {
  _: 'connector', // ExtendNumLet
  ':': 'midLetter',
  ',': 'midNum',
  ';': 'midNum',
  '.': 'midNumLet',
  "'": 'midNumLet',
};

const breakClass = (c: string): WordBreak => {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 'letter';
  if (c >= '0' && c <= '9') return 'digit';
  return MARKS[c] ?? 'other';
};

const isAlnum = (w: WordBreak): boolean => w === 'letter' || w === 'digit' || w === 'connector';

/**
 * Joins a punctuation mark between two letters (WB6/WB7: `can't`, `e.g`, `a:b`) or two digits (WB11/WB12:
 * `3.14`, `1,000`). Letters, digits and `_` always join each other (WB5, WB8–WB10, WB13a/b).
 */
const joinsAcross = (before: WordBreak, mid: WordBreak, after: WordBreak): boolean =>
  (before === 'letter' && after === 'letter' && (mid === 'midLetter' || mid === 'midNumLet')) ||
  (before === 'digit' && after === 'digit' && (mid === 'midNum' || mid === 'midNumLet'));

/** The end of the word starting at `start` (an alphanumeric), per the joins above. */
const wordEnd = (classes: readonly WordBreak[], start: number): number => {
  let end = start + 1;
  for (;;) {
    const next = classes[end];
    if (next !== undefined && isAlnum(next)) end += 1;
    else if (next !== undefined && joinsAcross(classes[end - 1]!, next, classes[end + 1] ?? 'other'))
      end += 2;
    else return end;
  }
};

/** ASCII text's words. As in ICU's word-like status, a lone `_` is not a word, while `__` is (WB13a). */
const asciiWords = (text: string): string[] => {
  const classes = Array.from(text, breakClass);
  const out: string[] = [];
  for (let i = 0; i < classes.length; ) {
    if (!isAlnum(classes[i]!)) {
      i += 1;
      continue;
    }
    const end = wordEnd(classes, i);
    const word = text.slice(i, end);
    if (word !== '_') out.push(word);
    i = end;
  }
  return out;
};

// 'en', not the server's locale: the container's locale says nothing about the writer's language, and the
// ASCII rules above are the root rules. Built on first use (see above), then kept for the container.
let wordSegmenter: Intl.Segmenter | undefined;
let graphemeSegmenter: Intl.Segmenter | undefined;

const icuWords = (text: string): string[] => {
  wordSegmenter ??= new Intl.Segmenter('en', { granularity: 'word' });
  const out: string[] = [];
  for (const s of wordSegmenter.segment(text)) if (s.isWordLike) out.push(s.segment);
  return out;
};

const icuGraphemes = (text: string): number => {
  graphemeSegmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  let n = 0;
  for (const _ of graphemeSegmenter.segment(text)) n++;
  return n;
};

/** Any character outside ASCII (control characters are ASCII too, and 'other' to the rules above). */
const NON_ASCII = /[^\p{ASCII}]/u;

export const wordsIn = (text: string): string[] => (NON_ASCII.test(text) ? icuWords(text) : asciiWords(text));

/**
 * User-perceived characters: 👍🏽 or 👨‍👩‍👧 is one tap on a phone keyboard, not 2–7 code points, and a
 * decomposed "é" is one letter. Counting code points would make emoji-rich replies type several times
 * slower than the same text without them. In ASCII every character is one, except CR LF (GB3).
 */
export const countGraphemes = (text: string): number =>
  NON_ASCII.test(text) ? icuGraphemes(text) : text.length - (text.match(/\r\n/g)?.length ?? 0);
