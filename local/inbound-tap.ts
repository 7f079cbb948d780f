/**
 * What the chat view and the terminal learn about the webhook's traffic, told honestly:
 * - a signed body's messages are shown as the user's only once the webhook accepted it (its 200, or the
 *   first Graph call for that user, which can come first: the prelude's mark_seen may reach Graph before
 *   the handler returns, and the user's line must still show before it);
 * - a body the webhook refused (413 too large, 400 too deep, 403 bad signature, 500 not configured…) is
 *   reported as a rejection with the webhook's status and answer, never as something a user said;
 * - a signed body the webhook accepted that says a person (or another app) now holds a conversation is
 *   told as a takeover, with when the bot resumes — computed as the webhook does (lib/webhook/takeover.ts);
 * - each Graph call names the message it answers (`replyTo`, the turn's last event id), taken from the
 *   step the sender is working on for that user (its sequence id, lib/responder/turn-runner.ts
 *   turnSequenceId; a prelude's is the event id itself), so `npm run chat` never shows an earlier
 *   answer's leftovers as the answer to a new message.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, SQSEvent } from 'aws-lambda';
import { parseWebhookBody } from '../lib/meta/inbound.ts';
import { takeoverSignals } from '../lib/meta/takeover.ts';
import type { Env } from '../lib/platform/config.ts';
import { takeoverSchema } from '../lib/platform/takeover-config.ts';
import { verifySignature } from '../lib/webhook/signature.ts';
import type { SqsHandler } from './esm.ts';
import type { HttpApiHandler } from './http.ts';
import type { ChatEvent } from './stack.ts';
import { transcriptText } from './transcript.ts';

type UserEvent = Extract<ChatEvent, { type: 'user' }>;
type GraphEvent = Extract<ChatEvent, { type: 'graph' }>;
type TakeoverEvent = Extract<ChatEvent, { type: 'takeover' }>;

/** What the webhook reads to tell a person's echo from the bot's own, and how long it then steps aside. */
export type TakeoverView = { appId: string | undefined; pauseMs: number };

/** The functions' env as the webhook reads it (META_APP_ID, HUMAN_TAKEOVER_PAUSE_SECONDS); undefined if invalid. */
export const takeoverViewOf = (env: Env): TakeoverView | undefined => {
  const parsed = takeoverSchema.safeParse(env);
  if (!parsed.success) return undefined;
  return { appId: parsed.data.META_APP_ID, pauseMs: parsed.data.HUMAN_TAKEOVER_PAUSE_SECONDS * 1000 };
};

/** The webhook's answer is cut to this many characters in a rejection line. */
const REASON_CHARS = 200;

const rawBodyOf = (event: APIGatewayProxyEventV2): Buffer =>
  event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64') : Buffer.from(event.body ?? '', 'utf8');

const signatureOf = (event: APIGatewayProxyEventV2): string | undefined =>
  Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === 'x-hub-signature-256')?.[1];

/** The messages of a body whose signature holds, as the chat view shows them; none for any other body. */
export const signedUserEvents = (event: APIGatewayProxyEventV2, appSecret: string): UserEvent[] => {
  const raw = rawBodyOf(event);
  const signature = signatureOf(event);
  if (!signature || !verifySignature(raw, signature, appSecret)) return [];
  try {
    return parseWebhookBody(JSON.parse(raw.toString('utf8')), Date.now()).events.map((e) => ({
      type: 'user',
      at: Date.now(),
      channel: e.channel,
      pageId: e.pageId,
      psid: e.psid,
      ...(e.mid === undefined ? {} : { mid: e.mid }),
      ...(e.text === undefined ? {} : { text: e.text }),
      ...(e.quickReplyPayload === undefined ? {} : { quickReplyPayload: e.quickReplyPayload }),
      ...(e.postback?.payload === undefined ? {} : { postback: e.postback.payload }),
    }));
  } catch {
    // The webhook answers it (400); the rejection line says so.
    return [];
  }
};

/**
 * Who holds which conversation after a signed body, as the webhook decides it: a person's echo silences the
 * bot until max(received, echo time) + the pause; another app holds the thread until it is passed back.
 */
export const signedTakeovers = (
  event: APIGatewayProxyEventV2,
  appSecret: string,
  view: TakeoverView,
  now: number,
): TakeoverEvent[] => {
  const raw = rawBodyOf(event);
  const signature = signatureOf(event);
  if (!signature || !verifySignature(raw, signature, appSecret)) return [];
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return [];
  }
  return takeoverSignals(json, { appId: view.appId, receivedAt: now }).map((s) => ({
    type: 'takeover',
    at: now,
    pageId: s.pageId,
    psid: s.psid,
    kind: s.kind,
    ...(s.text === undefined ? {} : { text: s.text }),
    ...(s.kind === 'person' && { resumesAt: Math.max(now, s.at) + view.pauseMs }),
  }));
};

const statusOf = (result: APIGatewayProxyResultV2): { status: number; body: string } =>
  typeof result === 'object' && result !== null && 'statusCode' in result
    ? { status: result.statusCode ?? 200, body: typeof result.body === 'string' ? result.body : '' }
    : { status: 200, body: '' };

/** A refused body, attributed to its user when its signature held and its messages could be read. */
const rejection = (status: number, answer: string, held: readonly UserEvent[]): ChatEvent => {
  const first = held[0];
  return {
    type: 'rejected',
    at: Date.now(),
    status,
    reason: transcriptText(answer || '(empty answer)', REASON_CHARS),
    messages: held.length,
    ...(first ? { pageId: first.pageId, psid: first.psid } : {}),
  };
};

/** The tap between the local API Gateway and the webhook, and the Graph side's hook into it. */
export const inboundTap = (emit: (event: ChatEvent) => void) => {
  const held = new Set<UserEvent>();
  const release = (match: (e: UserEvent) => boolean) => {
    for (const e of held)
      if (match(e)) {
        held.delete(e);
        emit(e);
      }
  };
  const tap =
    (handler: HttpApiHandler, appSecret: string, view?: TakeoverView): HttpApiHandler =>
    async (event, context) => {
      if (event.requestContext.http.method !== 'POST') return handler(event, context);
      const mine = signedUserEvents(event, appSecret);
      const takeovers = view === undefined ? [] : signedTakeovers(event, appSecret, view, Date.now());
      for (const e of mine) held.add(e);
      let answer = { status: 500, body: 'Internal Server Error' };
      try {
        const result = await handler(event, context);
        answer = statusOf(result);
        return result;
      } finally {
        const pending = mine.filter((e) => held.has(e));
        for (const e of pending) held.delete(e);
        if (answer.status === 200) for (const e of [...takeovers, ...pending]) emit(e);
        else emit(rejection(answer.status, answer.body, mine));
      }
    };
  /** A Graph call for a user first shows that user's accepted messages still held. */
  const emitGraph = (event: GraphEvent) => {
    release((u) => u.psid === event.psid && u.pageId === event.pageId);
    emit(event);
  };
  return { tap, emitGraph };
};

type StepKey = { pageId?: unknown; psid?: unknown; sequenceId?: unknown };

const keyOf = (pageId: string, psid: string): string => `${pageId}\u0000${psid}`;

/**
 * Which message each user's Graph calls answer: the sender is wrapped so that, while it works on a step,
 * the step's sequence is known for its user. One FIFO group per user and one step per batch (serverless.yml
 * batchSize 1) make it exact: a user's next step is not received before this one is done.
 */
export const replyTrace = () => {
  const current = new Map<string, string>();
  const wrap =
    (handler: SqsHandler): SqsHandler =>
    async (event: SQSEvent, context) => {
      const keys: [string, string][] = [];
      for (const record of event.Records ?? []) {
        try {
          const step = JSON.parse(record.body) as StepKey;
          if (
            typeof step.pageId === 'string' &&
            typeof step.psid === 'string' &&
            typeof step.sequenceId === 'string'
          )
            keys.push([keyOf(step.pageId, step.psid), step.sequenceId]);
        } catch {
          // A poison body: the sender dead-letters it; no Graph call follows.
        }
      }
      for (const [key, sequenceId] of keys) current.set(key, sequenceId);
      try {
        return await handler(event, context);
      } finally {
        for (const [key, sequenceId] of keys) if (current.get(key) === sequenceId) current.delete(key);
      }
    };
  /** The event id of the message the user's current step answers, if a step is being sent. */
  const replyTo = (pageId: string, psid: string): string | undefined =>
    current.get(keyOf(pageId, psid))?.split('~')[0];
  return { wrap, replyTo };
};
