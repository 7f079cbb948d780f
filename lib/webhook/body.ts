/** The raw webhook body → JSON, before any channel looks at it. Reasons never echo the body. */

/**
 * Decodes a raw body: strict UTF-8, then JSON. Integer literals above 2^53 are kept as their exact source
 * text (JSON.parse source access), so an id sent as a number is never rounded.
 */
export const parseJsonBody = (
  body: Uint8Array,
): { ok: true; json: unknown } | { ok: false; reason: string } => {
  if (body.byteLength === 0) return { ok: false, reason: 'body is empty' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { ok: false, reason: 'body is not valid UTF-8' };
  }
  try {
    const json: unknown = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' &&
      !Number.isSafeInteger(value) &&
      context?.source !== undefined &&
      /^-?\d+$/.test(context.source)
        ? context.source
        : value,
    );
    return { ok: true, json };
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }
};
