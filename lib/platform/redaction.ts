/**
 * Secrets never reach an output. A redactor replaces each known secret value (and its appsecret_proof /
 * access_token query forms) with "[redacted]"; telemetry runs every log record through one, the Graph client
 * every upstream message it keeps.
 */
/** A truncated secret is still a leak: any token-like run sharing this many characters with one is redacted. */
const PIECE_LENGTH = 12;
const TOKEN_RUN = new RegExp(`[A-Za-z0-9_\\-+/=.]{${PIECE_LENGTH},}`, 'g');

/**
 * Replaces each secret (and URL-query token forms) in a string, and any token-like run that contains a
 * 12-character piece of a secret (an upstream message that echoes a cut token). Secrets shorter than 6
 * characters are ignored rather than shredding ordinary words.
 */
export const redactor = (secrets: readonly string[]) => {
  const known = secrets.filter((s) => s.length >= 6);
  const pieces = new Set(
    known.flatMap((s) =>
      Array.from({ length: Math.max(0, s.length - PIECE_LENGTH + 1) }, (_, i) =>
        s.slice(i, i + PIECE_LENGTH),
      ),
    ),
  );
  const holdsPiece = (run: string): boolean => {
    for (let i = 0; i + PIECE_LENGTH <= run.length; i++)
      if (pieces.has(run.slice(i, i + PIECE_LENGTH))) return true;
    return false;
  };
  return (text: string): string => {
    let out = text.replace(/((?:access_token|appsecret_proof)=)[^&\s"']+/g, '$1[redacted]');
    for (const s of known) out = out.split(s).join('[redacted]');
    return pieces.size === 0 ? out : out.replace(TOKEN_RUN, (run) => (holdsPiece(run) ? '[redacted]' : run));
  };
};

/** Deep-copies a value with every string redacted; errors become {name, message} (stacks dropped: they echo input). */
export const redactValue = (value: unknown, redact: (s: string) => string, depth = 0): unknown => {
  if (typeof value === 'string') return redact(value);
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redact, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, redact, depth + 1)]));
};
