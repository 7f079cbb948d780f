/**
 * How a message's text appears in the terminal transcript (`npm start`, `npm run chat`): one line, at most
 * TRANSCRIPT_TEXT_CHARS characters, then how much was left out — a 200,000-character message must not fill
 * the terminal. In real-Page mode that text comes from strangers, so nothing in it may act on the
 * operator's terminal: C0/C1 control characters (ESC starts colour, clear-screen and title sequences, BEL
 * rings) and the bidirectional overrides that reorder what is shown (Trojan Source, CVE-2021-42574) are
 * printed as visible stand-ins, never as themselves. The chat view and the Graph fake's records keep the
 * whole text (the browser shows text with textContent, which interprets none of them).
 */

/** Characters (code points, so an emoji is never cut in half) shown before the rest is counted. */
export const TRANSCRIPT_TEXT_CHARS = 200;

const LINE_BREAK = /\r\n|\r|\n/g;

/**
 * C0 controls (but the line breaks, already ⏎), DEL, C1 controls, and the bidi marks, embeddings, overrides
 * and isolates (Unicode UAX #9: U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069), plus the line and
 * paragraph separators some terminals break on.
 */
const BIDI_AND_SEPARATORS = new Set([0x061c, 0x200e, 0x200f, 0x2028, 0x2029]);

const isUnsafe = (code: number): boolean =>
  (code < 0x20 && code !== 0x0a) ||
  (code >= 0x7f && code <= 0x9f) ||
  (code >= 0x202a && code <= 0x202e) ||
  (code >= 0x2066 && code <= 0x2069) ||
  BIDI_AND_SEPARATORS.has(code);

/** A control character as its Unicode Control Picture (ESC → ␛, BEL → ␇, DEL → ␡), anything else as \u{…}. */
const visible = (ch: string): string => {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x20) return String.fromCodePoint(0x2400 + code);
  if (code === 0x7f) return '␡';
  return `\\u{${code.toString(16)}}`;
};

/** `text` with every unsafe character replaced by a visible stand-in (line breaks left as they are). */
export const visibleControls = (text: string): string =>
  Array.from(text, (ch) => (isUnsafe(ch.codePointAt(0) ?? 0) ? visible(ch) : ch)).join('');

/** `text` on one line (breaks shown as ⏎), controls made visible, cut to `max` code points with "… (N more characters)". */
export const transcriptText = (text: string, max = TRANSCRIPT_TEXT_CHARS): string => {
  const chars = Array.from(text.replace(LINE_BREAK, '⏎'));
  const left = chars.length - max;
  const shown = left <= 0 ? chars : chars.slice(0, max);
  const safe = visibleControls(shown.join(''));
  if (left <= 0) return safe;
  return `${safe}… (${left} more character${left === 1 ? '' : 's'})`;
};

/** The wall-clock time of `ms` as the terminal shows it (local time, HH:MM:SS). */
const clock = (ms: number): string => new Date(ms).toTimeString().slice(0, 8);

/** A takeover in the transcript: who holds the conversation now, and when the bot speaks again. */
export const takeoverLine = (event: {
  kind: 'person' | 'routing_lost' | 'routing_returned';
  text?: string;
  resumesAt?: number;
}): string => {
  if (event.kind === 'routing_returned') return '🔁 the thread is back: the bot answers the next message';
  if (event.kind === 'routing_lost')
    return '🔀 another app took the thread: the bot resumes when it is passed back';
  const said = event.text === undefined ? '' : ` (“${transcriptText(event.text)}”)`;
  const resumes = event.resumesAt === undefined ? '' : `; the bot resumes at ${clock(event.resumesAt)}`;
  return `🙋 a person took over${said}${resumes}`;
};
