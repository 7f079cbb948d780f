/**
 * The chat view's routes beside the local webhook: its static files, an SSE stream of ChatEvents,
 * /local/say (signs a message with the app secret and POSTs it to /webhook), /local/echo (the same for a
 * message "sent from the Page inbox": its echo, so the bot steps aside, local/page-echo.ts), /local/config and /local/idle
 * (whether the whole pipeline has nothing left to do, for `npm run chat`). Every one of them goes through
 * local/local-guard.ts first: they are for this machine's developer only, never for a tunnel or a web page.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describeIssues } from '../lib/platform/issues.ts';
import * as z from '../lib/platform/zod.ts';
import { channelSchema } from '../lib/queue/recipient.ts';
import type { LocalRoute } from './http.ts';
import { readRawBody } from './http.ts';
import { type GuardRequest, refuseLocalApi, refuseNonLocal } from './local-guard.ts';
import type { LocalAccount, UserInput } from './meta.ts';
import type { ChatEvent } from './stack.ts';

/** The header (or, for EventSource which cannot set headers, the `token` query parameter) carrying it. */
export const LOCAL_TOKEN_HEADER = 'x-ellipsis-token';

/** Where index.html carries the per-start token for app.js and `npm run chat`. */
export const TOKEN_META = /<meta name="ellipsis-token" content="([^"]*)"/;

export type ChatDeps = {
  subscribe: (listener: (event: ChatEvent) => void) => () => void;
  say: (
    psid: string,
    input: UserInput,
    mid?: string,
    account?: string,
  ) => Promise<{ status: number; text: string }>;
  /** The accounts the stack serves; /local/say's `channel` picks the first of that channel. */
  accounts: readonly LocalAccount[];
  /** A person's reply from the Page inbox, as its signed echo (local/page-echo.ts). */
  echo: (psid: string, text: string) => Promise<{ status: number; text: string }>;
  config: () => Record<string, unknown>;
  idle: () => Promise<boolean>;
  /** The per-start token every /local/* request must present. */
  token: string;
};
type ChatRoute = (req: IncomingMessage, res: ServerResponse, deps: ChatDeps) => Promise<void> | void;

const WEB_DIR = join(import.meta.dirname, 'web');
const WEB_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** The page with this start's token (base64url: safe in an attribute as it is). */
const withToken = (html: string, token: string): string =>
  html.replace(TOKEN_META, `<meta name="ellipsis-token" content="${token}"`);

/** index.html with this start's token in its meta tag; the other files as they are on disk. */
const serveWebFile =
  (file: string): ChatRoute =>
  async (_req, res, { token }) => {
    const raw = await readFile(join(WEB_DIR, file));
    const body = file === 'index.html' ? withToken(raw.toString('utf8'), token) : raw;
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      // Nothing of the chat view may be framed or sniffed by another origin.
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  };

/** Server-sent events: every ChatEvent as it happens, with a heartbeat that keeps proxies from closing it. */
const streamChatEvents: ChatRoute = (req, res, { subscribe }) => {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  const unsubscribe = subscribe((event) => res.write(`data: ${JSON.stringify(event)}\n\n`));
  // Written once subscribed: a client that has read it misses no event sent after.
  res.write(': connected\n\n');
  const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
};

/** What /local/say accepts: `{psid, text, quickReplyPayload?, channel?}`, checked once (any JSON value may come). */
const sayBodySchema = z.object({
  psid: z.string().check(z.regex(/^[\w-]{1,60}$/, 'must be 1-60 letters, digits, _ or -')),
  text: z.string().check(
    z.maxLength(2000, 'must be 1-2000 characters'),
    z.refine((t) => t.trim() !== '', 'must be 1-2000 characters'),
  ),
  quickReplyPayload: z.optional(z.string()),
  /** Which of the stack's channels the message is written on; absent: the stack's default account. */
  channel: z.optional(channelSchema),
});
type SayBody = z.infer<typeof sayBodySchema>;

/** The body, or the reason it is refused (a 400, never a crash: `null`, an array, a number are bodies too). */
const parseSayBody = (raw: string): { ok: true; body: SayBody } | { ok: false; error: string } => {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'body must be JSON {psid, text, quickReplyPayload?, channel?}' };
  }
  const parsed = sayBodySchema.safeParse(json);
  return parsed.success
    ? { ok: true, body: parsed.data }
    : { ok: false, error: describeIssues(parsed.error.issues) };
};

/** The account a /local/say body writes to: the first of its `channel`, else the stack's default. */
const sayAccount = (
  channel: SayBody['channel'],
  accounts: readonly LocalAccount[],
): { ok: true; account?: string } | { ok: false; error: string } => {
  if (channel === undefined) return { ok: true };
  const account = accounts.find((a) => a.channel === channel);
  if (account === undefined) return { ok: false, error: `channel: this stack serves no ${channel} account` };
  return { ok: true, account: account.id };
};

/** What /local/echo accepts: `{psid, text}` as for /local/say (a quick reply is the user's, not the Page's). */
const echoBodySchema = z.object({ psid: sayBodySchema.shape.psid, text: sayBodySchema.shape.text });

/** Sends the Page's reply as Meta would deliver its echo: the bot sees a person answered and steps aside. */
const forwardEcho: ChatRoute = async (req, res, { echo }) => {
  let json: unknown;
  try {
    json = JSON.parse((await readRawBody(req)).toString('utf8'));
  } catch {
    return sendJson(res, 400, { error: 'body must be JSON {psid, text}' });
  }
  const parsed = echoBodySchema.safeParse(json);
  if (!parsed.success) return sendJson(res, 400, { error: describeIssues(parsed.error.issues) });
  const answer = await echo(parsed.data.psid, parsed.data.text);
  sendJson(res, 200, { webhookStatus: answer.status, webhookAnswer: answer.text });
};

/** Signs the chat view's message as Meta would, in its channel's shape, and forwards it to /webhook. */
const forwardSay: ChatRoute = async (req, res, { say, accounts }) => {
  const raw = (await readRawBody(req)).toString('utf8');
  const parsed = parseSayBody(raw);
  if (!parsed.ok) return sendJson(res, 400, { error: parsed.error });
  const { psid, text, quickReplyPayload, channel } = parsed.body;
  const target = sayAccount(channel, accounts);
  if (!target.ok) return sendJson(res, 400, { error: target.error });
  const input: UserInput = { text, ...(quickReplyPayload !== undefined && { quickReplyPayload }) };
  const answer = await say(psid, input, undefined, target.account);
  sendJson(res, 200, { webhookStatus: answer.status, webhookAnswer: answer.text });
};

const STATIC_ROUTES: ReadonlyMap<string, ChatRoute> = new Map(
  Object.entries(WEB_FILES).map(([path, file]): [string, ChatRoute] => [`GET ${path}`, serveWebFile(file)]),
);

const API_ROUTES: ReadonlyMap<string, ChatRoute> = new Map<string, ChatRoute>([
  ['GET /local/config', (_req, res, deps) => sendJson(res, 200, deps.config())],
  ['GET /local/idle', async (_req, res, deps) => sendJson(res, 200, { idle: await deps.idle() })],
  ['GET /local/events', streamChatEvents],
  ['POST /local/say', forwardSay],
  ['POST /local/echo', forwardEcho],
]);

const guardRequest = (req: IncomingMessage, url: URL): GuardRequest => {
  const header = req.headers[LOCAL_TOKEN_HEADER];
  return {
    method: req.method ?? 'GET',
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress,
    token: (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('token') ?? undefined,
  };
};

/** The chat view's routes, each behind its guard; a refusal is a 403 saying why (no secret in it). */
export const chatRoutes =
  (deps: ChatDeps): LocalRoute =>
  async (req, res, url) => {
    const key = `${req.method} ${url.pathname}`;
    const isApi = url.pathname.startsWith('/local/');
    const route = isApi ? API_ROUTES.get(key) : STATIC_ROUTES.get(key);
    if (!route && !isApi) return false;
    const request = guardRequest(req, url);
    const refused = isApi ? refuseLocalApi(request, deps.token) : refuseNonLocal(request);
    if (refused !== undefined) {
      sendJson(res, 403, { error: refused });
      return true;
    }
    if (!route) return false;
    await route(req, res, deps);
    return true;
  };
