/**
 * Graph Send API client: one POST /{version}/{pageId|me}/messages per step, over a keep-alive undici Pool.
 *
 * `sendAction` never throws: it returns `{ ok: true }` or a classified failure. Failures carry only status,
 * code, subcode, type, fbtrace_id and a redacted, truncated message — never the URL (it holds the token in
 * its query) and never the token, the app secret or the appsecret_proof.
 */
import { type Dispatcher, Pool } from 'undici';
import { asRecord } from '../platform/records.ts';
import { redactor } from '../platform/redaction.ts';
import { graphRecipientOf } from '../queue/inbound.ts';
import type { Action } from '../queue/step.ts';
import { appSecretProof } from './app-secret-proof.ts';
import { asText, type GraphFailure, truncateReason } from './graph-errors.ts';
import { interpretGraphResponse } from './graph-response.ts';
import type { GraphUsage, UsageReading } from './graph-usage.ts';
import { provablyNotSent } from './network-errors.ts';

export type GraphSendResult =
  | { ok: true; latencyMs: number; usage?: GraphUsage; unexpectedBody?: boolean }
  | (GraphFailure & { latencyMs: number; usage?: GraphUsage });

export type SendActionRequest = { pageId: string; psid: string; action: Action };

export type GraphClient = {
  sendAction: (request: SendActionRequest) => Promise<GraphSendResult>;
  /** The latest usage headers seen on any response, if any. */
  usage: () => UsageReading | undefined;
  close: () => Promise<void>;
};

/** The Graph request body for one step (Meta, Sender Actions; Send API reference). */
export const graphRequestBody = ({ psid, action }: SendActionRequest): Record<string, unknown> => {
  // A guest of the chat plugin has no PSID yet, only a user_ref (lib/queue/inbound.ts); Graph takes either.
  const recipient = graphRecipientOf(psid);
  if ('message' in action) return { recipient, messaging_type: 'RESPONSE', message: action.message };
  // Sender actions carry only recipient and sender_action (+ payload for react/unreact): no messaging_type.
  if (action.sender_action === 'react' || action.sender_action === 'unreact')
    return { recipient, sender_action: action.sender_action, payload: action.payload };
  return { recipient, sender_action: action.sender_action };
};

export type GraphClientOptions = {
  /** GRAPH_API_URL, e.g. https://graph.facebook.com (a path prefix is kept). */
  baseUrl: string;
  /** GRAPH_API_VERSION, e.g. v25.0. */
  version: string;
  accessToken: string;
  appSecret: string;
  /** Whole-request deadline (GRAPH_TIMEOUT_MS). */
  timeoutMs: number;
  /** Defaults to a keep-alive Pool on baseUrl's origin; tests pass a MockAgent. */
  dispatcher?: Dispatcher;
  connections?: number;
  now?: () => number;
};

const ERROR_NAME = /^[A-Za-z]+$/;

/**
 * A network failure as a transient GraphFailure: error code/name and a redacted message, no URL; marked
 * `outcomeUnknown` unless the request provably never left (network-errors.ts).
 */
const networkFailure = (
  error: unknown,
  redact: (text: string) => string,
  timedOut: boolean,
): GraphFailure => {
  const record = asRecord(error) ?? {};
  const name = asText(record.code) ?? (ERROR_NAME.test(String(record.name)) ? String(record.name) : 'Error');
  const message = error instanceof Error ? error.message : String(error);
  const reason = timedOut ? 'timeout' : `network error ${name}: ${message}`;
  const failure: GraphFailure = {
    ok: false,
    kind: 'transient',
    status: 0,
    reason: truncateReason(redact(reason)),
  };
  return provablyNotSent(error, timedOut) ? failure : { ...failure, outcomeUnknown: true };
};

/** One keep-alive Pool per container: later invocations reuse its TLS connections. */
const keepAlivePool = (origin: string, options: GraphClientOptions): Dispatcher =>
  new Pool(origin, {
    connections: options.connections ?? 16,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });

export const graphClient = (options: GraphClientOptions): GraphClient => {
  const now = options.now ?? Date.now;
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const dispatcher = options.dispatcher ?? keepAlivePool(base.origin, options);
  const proof = appSecretProof(options.accessToken, options.appSecret);
  // Meta's Send API examples pass the token in the query string; the URL is built here and never surfaced.
  const query = `access_token=${encodeURIComponent(options.accessToken)}&appsecret_proof=${proof}`;
  const redact = redactor([options.accessToken, options.appSecret, proof]);
  let lastUsage: UsageReading | undefined;

  const sendAction = async (request: SendActionRequest): Promise<GraphSendResult> => {
    const pageId = request.pageId.trim() === '' ? 'me' : request.pageId;
    const path = `${prefix}/${options.version}/${encodeURIComponent(pageId)}/messages?${query}`;
    const started = now();
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const response = await dispatcher.request({
        origin: base.origin,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(graphRequestBody(request)),
        signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      // Redact the raw body before anything reads it: a reason derived from it is truncated later, and a
      // token cut in half by the truncation would no longer match the redactor.
      const text = redact(await response.body.text());
      const result = interpretGraphResponse(response.statusCode, text, response.headers, now());
      if (result.usage) lastUsage = { ...result.usage, readAt: now() };
      return { ...result, latencyMs: now() - started };
    } catch (error) {
      return { ...networkFailure(error, redact, signal.aborted), latencyMs: now() - started };
    }
  };

  return { sendAction, usage: () => lastUsage, close: () => dispatcher.close() };
};
