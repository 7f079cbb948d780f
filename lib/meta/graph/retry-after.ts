/** The Retry-After response header (RFC 9110 §10.2.3): delay-seconds or an HTTP date, as a delay in ms. */
import { headerText } from './usage.ts';

export const parseRetryAfter = (value: string | string[] | undefined, now: number): number | undefined => {
  const text = headerText(value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
};
