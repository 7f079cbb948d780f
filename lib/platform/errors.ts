/**
 * The one error hierarchy. An `EllipsisError`'s message is written to be shown: it names a variable, a
 * file, a field path, a code or a count, never a value (secrets and user text included). So a start-up
 * failure that is one may be logged and answered as it is, while any other error (an SDK's or a parser's
 * message may echo its input) is reported by its name only (lib/platform/runtime.ts).
 */
export class EllipsisError extends Error {
  override name = 'EllipsisError';
}

/** The environment, an SSM parameter or a file it names is missing or invalid: the function cannot start. */
export class ConfigError extends EllipsisError {
  override name = 'ConfigError';
}

/** A function could not start; thrown where the caller must see a failure (the sender's batch goes back to SQS). */
export class StartupError extends EllipsisError {
  override name = 'StartupError';
}

/** How logs name an error: its name only, since messages of SDK errors can carry request details. */
export const errorText = (error: unknown): string => (error instanceof Error ? error.name : 'unknown error');
