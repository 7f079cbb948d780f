/** How the sender names errors and Graph failures in logs and metric dimensions (never a message body). */
import type { GraphFailure } from './graph-errors.ts';

/** An error's name only: messages of SDK errors can carry request details. */
export const errorText = (error: unknown): string => (error instanceof Error ? error.name : 'unknown error');

export const failureAttributes = (failure: GraphFailure) => ({
  status: failure.status,
  code: failure.code,
  subcode: failure.subcode,
  type: failure.type,
  fbtraceId: failure.fbtraceId,
  reason: failure.reason,
});

/** The `code` metric dimension: Graph's code, else the HTTP status, else `network`. */
export const codeLabel = (failure: GraphFailure): string =>
  failure.code !== undefined ? String(failure.code) : failure.status ? `http${failure.status}` : 'network';
