/** Narrowing untrusted JSON (webhook bodies, Graph responses and headers): a plain object, not an array or null. */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The value as a plain object, or undefined: for optional chaining through untrusted JSON. */
export const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  isRecord(value) ? value : undefined;
