/**
 * The one retry policy for the producers' SQS writes (steps and inbound events): which SDK errors are worth
 * another attempt (throttling, server faults, network resets — never a client fault), how many attempts, and
 * full-jitter exponential backoff between them ("Exponential Backoff And Jitter", AWS Architecture Blog).
 */
import { EllipsisError } from '../platform/errors.ts';

export type EnqueueFailure = 'invalid_step' | 'too_large' | 'sdk_error' | 'rejected' | 'failed_entries';

/** Why a sequence could not be enqueued. Names codes and counts only: never bodies, ids of users or secrets. */
export class EnqueueError extends EllipsisError {
  override name = 'EnqueueError';
  readonly reason: EnqueueFailure;
  /** True when trying again later may succeed (throttling, 5xx): the webhook answers 500 so Meta re-delivers. */
  readonly retryable: boolean;
  constructor(reason: EnqueueFailure, retryable: boolean, message: string) {
    super(message);
    this.reason = reason;
    this.retryable = retryable;
  }
}

const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2_000;
const DEFAULT_MAX_ATTEMPTS = 4;

const RETRYABLE_ERROR_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'RequestThrottled',
  'RequestThrottledException',
  'KmsThrottled',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
]);

type SdkErrorShape = {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number };
};

export const sdkErrorName = (error: unknown): string => {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  return typeof e.name === 'string' ? e.name : 'UnknownError';
};

/** Throttling, server faults and network resets are worth another attempt; client faults are not. */
export const isRetryableSdkError = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as SdkErrorShape;
  if (e.$retryable) return true;
  if (e.$fault === 'server') return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return (
    RETRYABLE_ERROR_NAMES.has(sdkErrorName(error)) ||
    (typeof e.code === 'string' && RETRYABLE_ERROR_NAMES.has(e.code))
  );
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What callers may set: attempts per write (the first included), the sleep and the jitter source. */
export type RetryOptions = {
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
};

/** How a write is retried: attempts (the first included) and full-jitter exponential backoff. */
export type RetryPolicy = { maxAttempts: number; sleep: (ms: number) => Promise<void>; random: () => number };

export const retryPolicyOf = (deps: RetryOptions): RetryPolicy => ({
  maxAttempts: Math.max(1, deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
  sleep: deps.sleep ?? defaultSleep,
  random: deps.random ?? Math.random,
});

export const backoff = (policy: RetryPolicy, attempt: number): Promise<void> =>
  policy.sleep(policy.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
