/**
 * Cuts a streamed answer into chat bubbles as it arrives: one bubble per paragraph (text up to a blank
 * line), a paragraph longer than `maxChars` cut at its last line break, else sentence end, else space, else
 * hard at `maxChars`. A bubble is emitted as soon as its end is known, so the first one can be typed while
 * the model still writes the rest. Whitespace between bubbles is dropped; every other character is kept,
 * in order, and the cut depends only on the text, never on how the stream chunked it.
 */

/** A blank line: a line break, optional spaces, a line break. */
const PARAGRAPH_BREAK = /\n[ \t\r\f\v]*\n/;
/** The whitespace right after a sentence end (., !, ?, …, CJK stops, optionally closed by quotes/brackets). */
const SENTENCE_END = /[.!?…。！？][)"'”’»\]]*(?=\s)/g;

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/** Where to cut `text` (longer than `max`) so that the first piece has at most `max` UTF-16 units. */
export const cutPoint = (text: string, max: number): number => {
  const window = text.slice(0, max + 1);
  const newline = window.lastIndexOf('\n', max);
  if (newline > 0) return newline;
  let sentence = -1;
  for (const m of window.matchAll(SENTENCE_END)) {
    const end = m.index + m[0].length;
    if (end <= max) sentence = end;
  }
  if (sentence > 0) return sentence;
  const space = window.search(/\s\S*$/);
  if (space > 0 && space <= max) return space;
  // No break at all: a hard cut, never between the two halves of a surrogate pair (an emoji).
  return isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max;
};

export type BubbleSplitter = {
  /** Adds streamed text; returns the bubbles it completed. */
  push: (delta: string) => string[];
  /** The stream ended: returns what is left as bubbles. */
  end: () => string[];
};

export const bubbleSplitter = (maxChars: number): BubbleSplitter => {
  let buffer = '';
  const drain = (final: boolean): string[] => {
    const out: string[] = [];
    for (;;) {
      buffer = buffer.trimStart();
      const paragraph = buffer.search(PARAGRAPH_BREAK);
      let cut: number;
      if (paragraph > 0 && paragraph <= maxChars) cut = paragraph;
      else if (buffer.length > maxChars) cut = cutPoint(buffer, maxChars);
      else break;
      out.push(buffer.slice(0, cut).trimEnd());
      buffer = buffer.slice(cut);
    }
    const rest = buffer.trimEnd();
    if (final && rest !== '') out.push(rest);
    if (final) buffer = '';
    return out;
  };
  return {
    push: (delta) => {
      buffer += delta;
      return drain(false);
    },
    end: () => drain(true),
  };
};

/** The bubbles of a whole text (what the splitter yields for any chunking of it). */
export const splitBubbles = (text: string, maxChars: number): string[] => {
  const splitter = bubbleSplitter(maxChars);
  return [...splitter.push(text), ...splitter.end()];
};
