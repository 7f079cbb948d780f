/**
 * One error hierarchy for the LLM responder. The responder stage treats any throw as a failed turn;
 * `retryable` says whether trying again can help: false dead-letters the turn at once (lib/responder/turn.ts
 * decideFailure), true retries it with backoff. Messages never hold the API key: the
 * upstream message is redacted (OpenAI's 401 echoes part of the key it received).
 */
import { EllipsisError } from '../../platform/errors.ts';

export class LlmError extends EllipsisError {
  override name = 'LlmError';
  readonly retryable: boolean;
  readonly status: number | undefined;
  constructor(message: string, options: { retryable: boolean; status?: number | undefined }) {
    super(message);
    this.retryable = options.retryable;
    this.status = options.status;
  }
}

/** 429, 5xx, timeouts, resets: the endpoint is busy or down, the same request may succeed later. */
export class LlmUnavailableError extends LlmError {
  override name = 'LlmUnavailableError';
  constructor(message: string, status?: number) {
    super(message, { retryable: true, status });
  }
}

/** Any other 4xx: the request or the configuration is wrong, and retrying sends the same wrong thing. */
export class LlmRequestError extends LlmError {
  override name = 'LlmRequestError';
  constructor(message: string, status: number) {
    super(message, { retryable: false, status });
  }
}

/** 408 request timeout, 409 conflict, 429 rate limit, 5xx: retry (OpenAI API docs, "Error codes"). */
export const isRetryableStatus = (status: number): boolean =>
  status === 408 || status === 409 || status === 429 || status >= 500;

/** Which setting a 4xx most likely points at. */
const hintFor = (status: number): string => {
  if (status === 401 || status === 403) return 'check LLM_API_KEY';
  if (status === 404) return 'check LLM_BASE_URL and LLM_MODEL';
  return 'check LLM_MODEL, LLM_MAX_TOKENS and LLM_TEMPERATURE';
};

/** What went wrong on the wire: an HTTP status, or none for a timeout, reset or refused connection. */
export type LlmFailure = { status?: number | undefined; message: string };

export const llmErrorFor = (failure: LlmFailure, redact: (text: string) => string): LlmError => {
  const { status } = failure;
  const detail = redact(failure.message).slice(0, 300);
  // No answer at all (refused, DNS, timeout, reset): the base URL is the first thing to check.
  if (status === undefined)
    return new LlmUnavailableError(`LLM endpoint unreachable (check LLM_BASE_URL): ${detail}`);
  if (isRetryableStatus(status))
    return new LlmUnavailableError(`LLM endpoint answered ${status}: ${detail}`, status);
  return new LlmRequestError(`LLM endpoint answered ${status} (${hintFor(status)}): ${detail}`, status);
};
