/**
 * Graph Send API client: one POST /{version}/{pageId|me}/messages per step, over a keep-alive node:https
 * Agent (https-post.ts).
 *
 * `sendAction` never throws: it returns `{ ok: true }` or a classified failure. Failures carry only status,
 * code, subcode, type, fbtrace_id and a redacted, truncated message — never the URL (it holds the token in
 * its query) and never the token, the app secret or the appsecret_proof.
 */
import type { Agent } from 'node:http';
import { asRecord } from '../../platform/records.ts';
import type { Action } from '../../queue/step.ts';
import { messengerRequestBody } from '../messenger/outbound.ts';
import { channelShapeOf } from '../outbound.ts';
import type { ChannelCall, ChannelShape, SendTarget } from '../outbound-shape.ts';
import { accountAuth } from './account-auth.ts';
import { appSecretProof } from './app-secret-proof.ts';
import { asText, type GraphFailure, truncateReason } from './errors.ts';
import { keepAliveAgent, type PostOutcome, postJson } from './https-post.ts';
import { provablyNotSent } from './network-errors.ts';
import { interpretGraphResponse } from './response.ts';
import type { GraphUsage, UsageReading } from './usage.ts';

export type GraphSendResult =
  /** `skipped`: the channel has no call for this step (lib/meta/), so none was made. */
  | { ok: true; latencyMs: number; usage?: GraphUsage; unexpectedBody?: boolean; skipped?: string }
  | (GraphFailure & { latencyMs: number; usage?: GraphUsage });

/** One step to send: who to (channel, account, user, the inbound message answered) and what. */
export type SendActionRequest = SendTarget & { action: Action };

export type GraphClient = {
  sendAction: (request: SendActionRequest) => Promise<GraphSendResult>;
  /** The latest usage headers seen on any response, if any. */
  usage: () => UsageReading | undefined;
  close: () => Promise<void>;
};

/** The Messenger Send API body for one step (lib/meta/messenger/outbound.ts). */
export const graphRequestBody = ({ action, ...target }: SendActionRequest): Record<string, unknown> =>
  messengerRequestBody(target, action);

export type GraphClientOptions = {
  /** GRAPH_API_URL, e.g. https://graph.facebook.com (a path prefix is kept). */
  baseUrl: string;
  /** GRAPH_API_VERSION, e.g. v26.0. */
  version: string;
  /** One token for every account (single-account deployments)… */
  accessToken?: string;
  /** …or one per account id (Page, Instagram account, WhatsApp phone number): no account uses another's. */
  accountTokens?: Readonly<Record<string, string>>;
  appSecret: string;
  /**
   * Instagram-Login accounts (lib/platform/accounts.ts instagramLoginOf): their calls go to this origin
   * (graph.instagram.com) with their own Instagram user token and no appsecret_proof (account-auth.ts).
   */
  instagramLogin?: { baseUrl: string; accounts: ReadonlySet<string> };
  /** Whole-request deadline (GRAPH_TIMEOUT_MS). */
  timeoutMs: number;
  /** Most sockets open at once to Graph (default 16). */
  connections?: number;
  /** Defaults to a keep-alive Agent for baseUrl's protocol (https-post.ts); tests pass their own. */
  agent?: Agent;
  now?: () => number;
};

const ERROR_NAME = /^[A-Za-z]+$/;

/**
 * A call that got no answer as a transient GraphFailure: error code/name and a redacted message, no URL;
 * marked `outcomeUnknown` unless the request provably never left (network-errors.ts).
 */
const networkFailure = (
  { error, connected }: Extract<PostOutcome, { answered: false }>,
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
  return provablyNotSent({ error, connected, timedOut }) ? failure : { ...failure, outcomeUnknown: true };
};

/** A step the channel cannot make, or an account without a token: failed without any call. */
const failedBeforeCall = (type: string, reason: string): GraphSendResult => ({
  ok: false,
  kind: 'permanent',
  status: 0,
  type,
  reason,
  latencyMs: 0,
});

/** What one POST needs from its client: where to send, how to redact, where to keep the usage reading. */
type PostContext = {
  options: GraphClientOptions;
  agent: Agent;
  origin: string;
  prefix: string;
  now: () => number;
  redact: (text: string) => string;
  onUsage: (reading: UsageReading) => void;
};

/** One Send API POST → a result; never throws (a network failure is a transient result). */
const post = async (
  ctx: PostContext,
  call: ChannelCall,
  query: string,
  shape: ChannelShape,
): Promise<GraphSendResult> => {
  const { options, now } = ctx;
  const url = new URL(
    `${ctx.origin}${ctx.prefix}/${options.version}/${encodeURIComponent(call.node)}/messages?${query}`,
  );
  const started = now();
  // The whole call — connect, TLS, headers and body — within GRAPH_TIMEOUT_MS.
  const signal = AbortSignal.timeout(options.timeoutMs);
  const outcome = await postJson(ctx.agent, url, JSON.stringify(call.body), signal);
  if (!outcome.answered)
    return { ...networkFailure(outcome, ctx.redact, signal.aborted), latencyMs: now() - started };
  // Redact the raw body before anything reads it: a reason derived from it is truncated later, and a
  // token cut in half by the truncation would no longer match the redactor.
  const text = ctx.redact(outcome.text);
  const result = interpretGraphResponse(outcome.status, text, outcome.headers, now(), shape);
  if (result.usage) ctx.onUsage({ ...result.usage, readAt: now() });
  return { ...result, latencyMs: now() - started };
};

/** Where one origin's calls go: its keep-alive agent, origin and path prefix. */
const originOf = (options: GraphClientOptions, baseUrl: string) => {
  const base = new URL(baseUrl);
  const agent =
    options.agent ?? keepAliveAgent({ protocol: base.protocol, connections: options.connections });
  return { agent, origin: base.origin, prefix: base.pathname.replace(/\/+$/, '') };
};

export const graphClient = (options: GraphClientOptions): GraphClient => {
  const login = options.instagramLogin;
  const auth = accountAuth({ ...options, withoutProof: login?.accounts }, appSecretProof);
  let lastUsage: UsageReading | undefined;
  const ctx: PostContext = {
    options,
    ...originOf(options, options.baseUrl),
    now: options.now ?? Date.now,
    redact: auth.redact,
    onUsage: (reading) => {
      lastUsage = reading;
    },
  };
  // Instagram Login is another API (graph.instagram.com): its own origin and agent, the same pacing.
  const loginCtx: PostContext | undefined = login && { ...ctx, ...originOf(options, login.baseUrl) };
  const contextFor = (accountId: string): PostContext =>
    loginCtx !== undefined && login?.accounts.has(accountId) ? loginCtx : ctx;

  const sendAction = async ({ action, ...target }: SendActionRequest): Promise<GraphSendResult> => {
    const shape = channelShapeOf(target.channel);
    const plan = shape.requestFor(target, action);
    if ('skip' in plan) return { ok: true, latencyMs: 0, skipped: plan.skip };
    if ('unsupported' in plan) return failedBeforeCall('ChannelUnsupported', plan.unsupported);
    const query = auth.queryFor(target.pageId);
    // Never another account's token: an account without its own is not answered (README, many accounts).
    if (query === undefined) return failedBeforeCall('UnknownAccount', 'no access token for this account');
    return post(contextFor(target.pageId), plan.call, query, shape);
  };

  const close = async () => {
    ctx.agent.destroy();
    loginCtx?.agent.destroy();
  };
  return { sendAction, usage: () => lastUsage, close };
};
