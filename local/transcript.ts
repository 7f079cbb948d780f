/**
 * How a message's text appears in the terminal transcript (`npm start`): one line, at most
 * TRANSCRIPT_TEXT_CHARS characters, then how much was left out — a 200,000-character message must not fill
 * the terminal. The chat view and the Graph fake's records keep the whole text.
 */

/** Characters (code points, so an emoji is never cut in half) shown before the rest is counted. */
export const TRANSCRIPT_TEXT_CHARS = 200;

const LINE_BREAK = /\r\n|\r|\n/g;

/** `text` on one line (breaks shown as ⏎), cut to `max` code points with "… (N more characters)". */
export const transcriptText = (text: string, max = TRANSCRIPT_TEXT_CHARS): string => {
  const chars = Array.from(text.replace(LINE_BREAK, '⏎'));
  const left = chars.length - max;
  if (left <= 0) return chars.join('');
  return `${chars.slice(0, max).join('')}… (${left} more character${left === 1 ? '' : 's'})`;
};
