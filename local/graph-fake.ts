/**
 * A local Graph Send API: POST /{version}/{pageId|me}/messages on 127.0.0.1, strict about what Meta is
 * strict about, recording every call with its time, and scriptable with faults for tests.
 *
 * Checks (Meta Send API reference; Sender Actions doc; Graph "Securing requests"):
 * - access_token (query) must be the configured page token, appsecret_proof the HMAC-SHA256 of it keyed
 *   with the app secret — as a Meta app with "Require App Secret" answers, with Graph's error bodies;
 * - the body is `recipient` plus either a sender action alone (mark_seen, typing_on, typing_off, or
 *   react/unreact with their payload) or a `message` with `messaging_type`; never both.
 * Answers like Graph: `{recipient_id, message_id}` for messages, `{recipient_id}` for sender actions.
 * Answers at once by default; `latencyMs` holds every answer back that long, as the real Send API's
 * round trip (~100–300 ms) does, so a caller's timings can be measured against a realistic Graph.
 *
 * Also a command for benches and manual runs, served in its own process (see `graphFakeCliOptions`):
 *   node local/graph-fake.ts [--latency-ms N] [--port N] [--version vX.Y] [--app-secret S --access-token T]
 *     [--rate-limit N --rate-limit-body FILE]
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { appSecretProof } from '../lib/meta/graph/app-secret-proof.ts';
import { describeIssues } from '../lib/platform/issues.ts';
import type { Channel } from '../lib/queue/recipient.ts';
import { type Action, type ActionKind, actionKind, actionSchema } from '../lib/queue/step.ts';
import { LOCAL_SECRETS, portFrom } from './defaults.ts';
import { checkChannelRequest, type FakeAccount } from './graph-fake-channels.ts';
import { listenOnLoopback } from './http.ts';
import { type RateLimit, rateLimiter } from './rate-limit.ts';
import { transcriptText } from './transcript.ts';

export type GraphCall = {
  /** 1-based order of arrival. */
  seq: number;
  /** When the request arrived (epoch ms). */
  at: number;
  answeredAt: number;
  pageId: string;
  version: string;
  /** The channel of the account whose token made the call; absent: Messenger (the default token). */
  channel?: Channel;
  psid: string;
  /** The action, when the body was valid. */
  kind?: ActionKind;
  action?: Action;
  body: unknown;
  status: number;
  response: unknown;
  /** True when the answer came from an injected fault. */
  injected: boolean;
};

export type Fault = {
  /** Answer with this status and body instead of the normal answer (after delayMs). */
  status?: number;
  body?: unknown;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Answer only once this settles (after delayMs): a test holds a call for as long as a condition needs. */
  until?: Promise<unknown>;
  /** Close the connection without answering (a network error for the client). */
  drop?: boolean;
};

export type FaultMatch = { psid?: string; kind?: ActionKind };

/** Graph error bodies shaped as Meta sends them, for fault injection. */
export const graphErrors = {
  transient: {
    status: 500,
    body: {
      error: {
        message: '(#2) Service temporarily unavailable',
        type: 'OAuthException',
        code: 2,
        is_transient: true,
        fbtrace_id: 'LocalFake',
      },
    },
  },
  temporarySendFailure: {
    status: 400,
    body: {
      error: {
        message: '(#1200) Temporary send message failure. Please try again later.',
        type: 'OAuthException',
        code: 1200,
        error_subcode: 2018024,
        fbtrace_id: 'LocalFake',
      },
    },
  },
  outsideWindow: {
    status: 400,
    body: {
      error: {
        message: '(#10) This message is sent outside of allowed window.',
        type: 'OAuthException',
        code: 10,
        error_subcode: 2018278,
        fbtrace_id: 'LocalFake',
      },
    },
  },
  personUnavailable: {
    status: 400,
    body: {
      error: {
        message: "(#551) This person isn't available right now.",
        type: 'OAuthException',
        code: 551,
        error_subcode: 1545041,
        fbtrace_id: 'LocalFake',
      },
    },
  },
} as const satisfies Record<string, Fault>;

export type GraphFakeOptions = {
  appSecret: string;
  /** The default account's token: a Messenger Page (any Page id, unless `pageId` is set). */
  accessToken: string;
  /**
   * The Page the default token belongs to: a Send API call for another Page id with it is refused as real
   * Graph refuses it (below, FOREIGN_PAGE), so a wrong page id shows locally instead of on first deploy.
   */
  pageId?: string;
  /** More accounts, each with its channel and token (local/graph-fake-channels.ts checks their requests). */
  accounts?: readonly FakeAccount[];
  /** Only this Graph version is served when set. */
  version?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Writes the conversation as it happens (one line per call); omitted: silent. */
  print?: (line: string) => void;
  now?: () => number;
  /** Every answer (success or error) waits this long first; 0 (default) answers at once. */
  latencyMs?: number;
  /** How the fake waits (latency and fault delays); tests pass their own. */
  sleep?: (ms: number) => Promise<void>;
  /** Graph's per-account call limit, enforced (rate-limit.ts): calls over it get its refusal. */
  rateLimit?: RateLimit;
};

/** Longest latency accepted: beyond it the caller's own Graph timeout is what gets measured. */
export const MAX_LATENCY_MS = 60_000;

const validLatency = (ms: number): boolean => Number.isInteger(ms) && ms >= 0 && ms <= MAX_LATENCY_MS;

/** Reads a latency setting: unset or empty → 0; anything but whole milliseconds 0–60000 names the setting. */
export const latencyFrom = (raw: string | undefined, name: string): number => {
  if (raw === undefined || raw.trim() === '') return 0;
  const ms = Number(raw);
  if (!validLatency(ms)) throw new Error(`${name} must be whole milliseconds (0-${MAX_LATENCY_MS})`);
  return ms;
};

export type GraphFake = {
  /** Base URL to use as GRAPH_API_URL. */
  url: string;
  calls: GraphCall[];
  /** Successful calls of one user, in arrival order. */
  callsFor: (psid: string) => GraphCall[];
  /** The next calls matching `match` get these faults, one per call, in order. */
  inject: (match: FaultMatch, ...faults: Fault[]) => void;
  subscribe: (listener: (call: GraphCall) => void) => () => void;
  /** Tells the fake a WhatsApp number received message `wamid` from `psid` (Meta knows; the read call names it). */
  noteInbound: (wamid: string, psid: string) => void;
  stop: () => Promise<void>;
};

const graphError = (status: number, message: string, code: number, type = 'OAuthException') => ({
  status,
  body: { error: { message, type, code, fbtrace_id: 'LocalFake' } },
});

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const PATH = /^\/(v\d+\.\d+)\/([^/]+)\/messages$/;

type Checked =
  | { ok: true; psid: string; action: Action }
  | { ok: false; psid: string; status: number; body: unknown };

/** Validates a Send API body; the Graph error answer when it is not valid. */
export const checkSendBody = (body: unknown): Checked => {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const recipient = b.recipient as { id?: unknown } | undefined;
  const psid = typeof recipient?.id === 'string' ? recipient.id : '';
  const invalid = (message: string) => ({
    ok: false as const,
    psid,
    ...graphError(400, `(#100) ${message}`, 100),
  });
  if (!psid) return invalid('The parameter recipient is required');
  const { recipient: _r, messaging_type: messagingType, ...rest } = b;
  if ('sender_action' in rest && 'message' in rest) {
    return invalid(
      'Requests to display sender action should only include the sender_action parameter and the recipient object',
    );
  }
  if ('message' in rest) {
    if (!['RESPONSE', 'UPDATE', 'MESSAGE_TAG'].includes(String(messagingType))) {
      return invalid('messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG');
    }
    if (messagingType === 'MESSAGE_TAG' && typeof rest.tag === 'string') delete rest.tag;
    // A quoted reply (Graph API reference, Page Messages: reply_to): `{mid}` beside the message.
    if ('reply_to' in rest) {
      const to = rest.reply_to as { mid?: unknown } | null;
      if (typeof to?.mid !== 'string' || to.mid === '' || Object.keys(to).length !== 1)
        return invalid('reply_to must be {mid}');
      delete rest.reply_to;
    }
  } else if (messagingType !== undefined) {
    return invalid(
      'Requests to display sender action should only include the sender_action parameter and the recipient object',
    );
  }
  const parsed = actionSchema.safeParse(rest);
  if (!parsed.success) {
    return invalid(`Invalid parameter: ${describeIssues(parsed.error.issues)}`);
  }
  return { ok: true, psid, action: parsed.data };
};

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
};

/** One terminal line for a call: what the user would see on their phone, and the pause before it. */
export const describeCall = (call: GraphCall, gapMs: number | undefined): string => {
  const gap = gapMs === undefined ? '       ' : `+${(gapMs / 1000).toFixed(2)}s`.padStart(7);
  const who = `[${call.psid}]`;
  if (call.status >= 300) {
    const error = (call.response as { error?: { code?: number; message?: string } } | undefined)?.error;
    return `${gap} ${who} ✖ Graph ${call.status} (#${error?.code ?? '?'}) ${error?.message ?? ''}`.trimEnd();
  }
  const a = call.action;
  if (!a) return `${gap} ${who} ?`;
  if ('message' in a) {
    const text = a.message.text ?? `[${a.message.attachment?.type ?? 'attachment'}]`;
    const chips = (a.message.quick_replies ?? [])
      .map((q) => (q.content_type === 'text' ? `[${q.title}]` : `[${q.content_type}]`))
      .join(' ');
    return `${gap} ${who} 💬 ${transcriptText(text)}${chips ? `  ${chips}` : ''}`;
  }
  switch (a.sender_action) {
    case 'mark_seen':
      return `${gap} ${who} 👀 seen`;
    case 'typing_on':
      return `${gap} ${who} … typing`;
    case 'typing_off':
      return `${gap} ${who} ·  stopped typing`;
    case 'react':
      return `${gap} ${who} ${a.payload.reaction} reacted`;
    case 'unreact':
      return `${gap} ${who} ✕ reaction removed`;
  }
};

type Answer = { status: number; body: unknown };

/** What the fake knows of one request before it looks at the body. */
type SendRequest = {
  version: string;
  pageId: string;
  token: string | null;
  proof: string | null;
  body: unknown;
};

/** What a request must match: the configured version (if any), a known token and its appsecret_proof. */
type Expected = {
  version: string | undefined;
  /** appsecret_proof of every token the fake accepts (the default one and each account's). */
  proofs: ReadonlyMap<string, string>;
  accounts: ReadonlyMap<string, FakeAccount>;
  /** The default token and its Page, when the fake knows it. */
  defaultPage: { token: string; pageId: string } | undefined;
  /** WhatsApp messages received so far: wamid → user. */
  inbound: Map<string, string>;
};

/**
 * Graph's checks before the body, in the order Graph applies them (the first failing one answers), with
 * the error each one answers (Graph "Securing requests"; Graph API versioning).
 */
/** An Instagram-Login account's token: graph.instagram.com takes no appsecret_proof keyed by the Meta app secret. */
const isInstagramLogin = (r: SendRequest, e: Expected): boolean =>
  r.token !== null && e.accounts.get(r.token)?.instagramLogin === true;

const REQUEST_CHECKS: readonly {
  fails: (r: SendRequest, e: Expected) => boolean;
  answer: (r: SendRequest) => Answer;
}[] = [
  {
    fails: (r, e) => e.version !== undefined && r.version !== e.version,
    answer: (r) => graphError(400, `Unsupported version ${r.version}`, 2500),
  },
  {
    fails: (r) => !r.token,
    answer: () =>
      graphError(
        400,
        'An active access token must be used to query information about the current user.',
        2500,
      ),
  },
  {
    fails: (r, e) => r.token === null || !e.proofs.has(r.token),
    answer: () => graphError(400, 'Invalid OAuth access token - Cannot parse access token', 190),
  },
  {
    fails: (r, e) => !r.proof && !isInstagramLogin(r, e),
    answer: () =>
      graphError(
        400,
        'API calls from the server require an appsecret_proof argument',
        100,
        'GraphMethodException',
      ),
  },
  {
    fails: (r, e) =>
      r.token === null || (isInstagramLogin(r, e) ? r.proof !== null : r.proof !== e.proofs.get(r.token)),
    answer: () =>
      graphError(400, 'Invalid appsecret_proof provided in the API argument', 100, 'GraphMethodException'),
  },
  {
    // A Page token used on another Page's /messages: HTTP 400, code 100, error_subcode 33,
    // GraphMethodException (as reported from real Graph in restfb/restfb#1075 and
    // roughike/flutter_facebook_login#44: "Unsupported post request. Object with ID … does not exist…").
    fails: (r, e) =>
      e.defaultPage !== undefined &&
      r.token === e.defaultPage.token &&
      r.pageId !== 'me' &&
      r.pageId !== e.defaultPage.pageId,
    answer: (r) => ({
      status: 400,
      body: {
        error: {
          message:
            `Unsupported post request. Object with ID '${r.pageId}' does not exist, cannot be loaded due to ` +
            'missing permissions, or does not support this operation. Please read the Graph API documentation ' +
            'at https://developers.facebook.com/docs/graph-api',
          type: 'GraphMethodException',
          code: 100,
          error_subcode: 33,
          fbtrace_id: 'LocalFake',
        },
      },
    }),
  },
];

type Answered = { answer: Answer; psid: string; action?: Action; channel: Channel };

/** Graph's answer to a Send API request on a known path: a request error, a body error, or success. */
const answerSendRequest = (request: SendRequest, expected: Expected): Answered => {
  const checked = checkSendBody(request.body);
  const failed = REQUEST_CHECKS.find((check) => check.fails(request, expected));
  const account = request.token === null ? undefined : expected.accounts.get(request.token);
  if (failed)
    return { answer: failed.answer(request), psid: checked.psid, channel: account?.channel ?? 'messenger' };
  if (account !== undefined) return answerAccountRequest(account, request, expected);
  if (!checked.ok) {
    return {
      answer: { status: checked.status, body: checked.body },
      psid: checked.psid,
      channel: 'messenger',
    };
  }
  const { psid, action } = checked;
  const body =
    'message' in action ? { recipient_id: psid, message_id: `m_${randomUUID()}` } : { recipient_id: psid };
  return { answer: { status: 200, body }, psid, action, channel: 'messenger' };
};

/** A request made with one of the `accounts`' tokens: its channel decides the shape. */
const answerAccountRequest = (account: FakeAccount, request: SendRequest, expected: Expected): Answered => {
  const verdict = checkChannelRequest(account, request.pageId, request.body, checkSendBody, expected.inbound);
  const { channel } = account;
  if (!verdict.ok)
    return { answer: { status: verdict.status, body: verdict.body }, psid: verdict.psid, channel };
  return {
    answer: { status: 200, body: verdict.answer },
    psid: verdict.psid,
    action: verdict.action,
    channel,
  };
};

/** The first queued fault matching this call, taken off the queue. */
const takeFault = (
  faults: { match: FaultMatch; fault: Fault }[],
  psid: string,
  kind: ActionKind | undefined,
): Fault | undefined => {
  const i = faults.findIndex(
    ({ match }) =>
      (match.psid === undefined || match.psid === psid) && (match.kind === undefined || match.kind === kind),
  );
  return i === -1 ? undefined : faults.splice(i, 1)[0]?.fault;
};

/** Reads a request: undefined for anything but POST /{version}/{id}/messages (Graph's "unknown path"). */
const readSendRequest = async (req: IncomingMessage, url: URL): Promise<SendRequest | undefined> => {
  const path = PATH.exec(url.pathname);
  const raw = await readBody(req);
  if (req.method !== 'POST' || !path) return undefined;
  const [, version = '', pageId = ''] = path;
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  return {
    version,
    pageId,
    token: url.searchParams.get('access_token'),
    proof: url.searchParams.get('appsecret_proof'),
    body,
  };
};

/** Everything one fake keeps between calls. */
type FakeState = {
  options: GraphFakeOptions;
  now: () => number;
  latencyMs: number;
  sleep: (ms: number) => Promise<void>;
  expected: Expected;
  calls: GraphCall[];
  listeners: Set<(call: GraphCall) => void>;
  faults: { match: FaultMatch; fault: Fault }[];
  /** When each user's last successful call arrived, for the printed gaps. */
  lastAt: Map<string, number>;
  seq: number;
  /** The rate refusal for a call arriving at `at` for an account, when over `rateLimit`. */
  overLimit: (account: string, at: number) => Answer | undefined;
};

/** Answers (or, for a `drop` fault, hangs up on) one valid-path call, after the latency and any fault delay. */
const deliverAnswer = async (
  state: FakeState,
  req: IncomingMessage,
  res: ServerResponse,
  answered: Answered,
): Promise<{ answer: Answer; fault: Fault | undefined }> => {
  const kind = answered.action ? actionKind(answered.action) : undefined;
  const fault = answered.answer.status === 200 ? takeFault(state.faults, answered.psid, kind) : undefined;
  const holdMs = state.latencyMs + (fault?.delayMs ?? 0);
  if (holdMs > 0) await state.sleep(holdMs);
  if (fault?.until) await fault.until;
  const answer =
    fault?.status !== undefined ? { status: fault.status, body: fault.body ?? {} } : answered.answer;
  if (fault?.drop) req.socket.destroy();
  else sendJson(res, answer.status, answer.body);
  return { answer, fault };
};

/** Records a call, prints its transcript line and tells the subscribers. */
const recordCall = (state: FakeState, call: GraphCall): void => {
  state.calls.push(call);
  if (state.options.print) {
    const previous = state.lastAt.get(call.psid);
    state.options.print(describeCall(call, previous === undefined ? undefined : call.at - previous));
    if (call.status === 200) state.lastAt.set(call.psid, call.at);
  }
  for (const listener of state.listeners) listener(call);
};

const handleCall = async (state: FakeState, req: IncomingMessage, res: ServerResponse): Promise<void> => {
  const at = state.now();
  const seq = ++state.seq;
  const url = new URL(req.url ?? '/', 'http://graph.local');
  const request = await readSendRequest(req, url);
  if (!request)
    return sendJson(res, 400, graphError(400, `Unknown path components: ${url.pathname}`, 2500).body);
  const checked = answerSendRequest(request, state.expected);
  // Counted whatever the answer: a refused call still spends the account's budget, as a storm does.
  const refusal = state.overLimit(request.pageId, at);
  const answered = refusal ? { ...checked, answer: refusal } : checked;
  const { answer, fault } = await deliverAnswer(state, req, res, answered);
  const { action, psid } = answered;
  const dropped = fault?.drop === true;
  recordCall(state, {
    seq,
    at,
    answeredAt: state.now(),
    pageId: request.pageId,
    version: request.version,
    ...(answered.channel !== 'messenger' && { channel: answered.channel }),
    psid,
    ...(action === undefined ? {} : { kind: actionKind(action), action }),
    body: request.body,
    status: dropped ? 0 : answer.status,
    response: dropped ? undefined : answer.body,
    injected: dropped || fault?.status !== undefined,
  });
};

const expectedOf = (options: GraphFakeOptions): Expected => {
  const tokens = [options.accessToken, ...(options.accounts ?? []).map((a) => a.accessToken)];
  return {
    version: options.version || undefined,
    proofs: new Map(tokens.map((token) => [token, appSecretProof(token, options.appSecret)])),
    accounts: new Map((options.accounts ?? []).map((a) => [a.accessToken, a])),
    defaultPage:
      options.pageId === undefined ? undefined : { token: options.accessToken, pageId: options.pageId },
    inbound: new Map(),
  };
};

const fakeState = (options: GraphFakeOptions): FakeState => {
  const latencyMs = options.latencyMs ?? 0;
  if (!validLatency(latencyMs)) throw new Error(`latencyMs must be whole milliseconds (0-${MAX_LATENCY_MS})`);
  return {
    options,
    now: options.now ?? Date.now,
    latencyMs,
    sleep: options.sleep ?? ((ms: number) => sleepFor(ms)),
    expected: expectedOf(options),
    calls: [],
    listeners: new Set(),
    faults: [],
    lastAt: new Map(),
    seq: 0,
    overLimit: options.rateLimit ? rateLimiter(options.rateLimit) : () => undefined,
  };
};

export const startGraphFake = async (options: GraphFakeOptions): Promise<GraphFake> => {
  const state = fakeState(options);
  const server = createServer((req, res) => {
    handleCall(state, req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, graphError(500, `local Graph fake: ${String(error)}`, 1).body);
    });
  });
  // As long as the sender's Graph client keeps sockets (lib/meta/graph/client.ts, 60 s): with Node's 5 s default, a
  // quiet spell would make the next send pay a new connection that a long-lived client would not.
  server.keepAliveTimeout = 60_000;
  const { url, stop } = await listenOnLoopback(server, options.port, {
    name: 'local Graph',
    portVariable: 'ELLIPSIS_GRAPH_PORT',
  });
  const { calls, listeners, faults } = state;
  return {
    url,
    calls,
    callsFor: (psid) => calls.filter((c) => c.psid === psid && c.status === 200),
    inject: (match, ...list) => {
      for (const fault of list) faults.push({ match, fault });
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    noteInbound: (wamid, psid) => {
      state.expected.inbound.set(wamid, psid);
    },
    stop,
  };
};

/** What the command serves at its calls URL: one line per call, as benches record them. */
export type ServedCall = { at: number; psid: string; kind: string; status: number; text?: string };

const servedCall = (call: GraphCall): ServedCall => {
  const text = call.action && 'message' in call.action ? call.action.message.text : undefined;
  return {
    at: call.at,
    psid: call.psid,
    kind: call.kind ?? 'invalid',
    status: call.status,
    ...(text === undefined ? {} : { text }),
  };
};

/**
 * --rate-limit N --rate-limit-body FILE: N calls per account per second, then FILE's bytes (a real Graph
 * refusal, read at run time) with HTTP 400, which Graph answers 613 with. Neither: no limit.
 */
const rateLimitOption = (
  perSecond: string | undefined,
  bodyFile: string | undefined,
): { rateLimit?: RateLimit } => {
  if (perSecond === undefined && bodyFile === undefined) return {};
  if (perSecond === undefined || bodyFile === undefined)
    throw new Error('--rate-limit and --rate-limit-body go together');
  const limit = Number(perSecond);
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error('--rate-limit must be whole calls per second (≥ 1)');
  return { rateLimit: { perSecond: limit, status: 400, body: JSON.parse(readFileSync(bodyFile, 'utf8')) } };
};

/**
 * The command's options. Flags win over the environment: --latency-ms (ELLIPSIS_GRAPH_LATENCY_MS),
 * --port (ELLIPSIS_GRAPH_PORT, default 0: a free port), --version (GRAPH_API_VERSION, default any),
 * --app-secret / --access-token (META_APP_SECRET / META_PAGE_ACCESS_TOKEN, default the local values).
 * Secret flags are for throwaway local values only (a command line is visible to the machine's users).
 */
export const graphFakeCliOptions = (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): GraphFakeOptions => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'latency-ms': { type: 'string' },
      port: { type: 'string' },
      version: { type: 'string' },
      'app-secret': { type: 'string' },
      'access-token': { type: 'string' },
      'rate-limit': { type: 'string' },
      'rate-limit-body': { type: 'string' },
    },
    strict: true,
  });
  const version = values.version ?? env.GRAPH_API_VERSION;
  return {
    appSecret: values['app-secret'] ?? env.META_APP_SECRET ?? LOCAL_SECRETS.META_APP_SECRET,
    accessToken: values['access-token'] ?? env.META_PAGE_ACCESS_TOKEN ?? LOCAL_SECRETS.META_PAGE_ACCESS_TOKEN,
    port:
      values.port === undefined
        ? portFrom(env, 'ELLIPSIS_GRAPH_PORT', 0)
        : portFrom({ '--port': values.port }, '--port', 0),
    latencyMs:
      values['latency-ms'] === undefined
        ? latencyFrom(env.ELLIPSIS_GRAPH_LATENCY_MS, 'ELLIPSIS_GRAPH_LATENCY_MS')
        : latencyFrom(values['latency-ms'], '--latency-ms'),
    ...(version ? { version } : {}),
    ...rateLimitOption(values['rate-limit'], values['rate-limit-body']),
    // Sub-ms epoch time, the same clock as Date.now() in the process that reads the calls.
    now: () => performance.timeOrigin + performance.now(),
  };
};

/**
 * Runs the fake as a command: prints one JSON line `{"port","url","callsUrl","latencyMs"}`, serves
 * `GET callsUrl` (the calls since the last read, as ServedCall[]) on a separate port so the Graph port
 * answers only what Graph answers, and stops when stdin closes (its parent went away).
 */
const serve = async (): Promise<void> => {
  const options = graphFakeCliOptions(process.argv.slice(2), process.env);
  const graph = await startGraphFake(options);
  const control = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/calls')
      return sendJson(res, 200, graph.calls.splice(0).map(servedCall));
    sendJson(res, 404, { error: 'GET /calls only' });
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', () => resolve()));
  const { port: controlPort } = control.address() as AddressInfo;
  const port = Number(new URL(graph.url).port);
  process.stdout.write(
    `${JSON.stringify({ port, url: graph.url, callsUrl: `http://127.0.0.1:${controlPort}/calls`, latencyMs: options.latencyMs })}\n`,
  );
  process.stdin.resume();
  process.stdin.on('end', () => {
    control.closeAllConnections();
    control.close();
    void graph.stop();
  });
};

if (import.meta.main) {
  serve().catch((error: unknown) => {
    console.error(`local Graph: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
