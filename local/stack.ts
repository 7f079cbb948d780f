/**
 * The whole pipeline on one machine: local SQS (fauxqs) → webhook behind a local API Gateway → event
 * source mapping → sender → Graph (the local fake, or the real Graph API). Used by `npm start` and by the
 * end-to-end tests; the functions are the real handlers (functions/*.ts), configured only through env.
 *
 * Each SQS → Lambda hop is one `QueueWiring` entry (see `stackWiring`): a new stage adds its queue,
 * function and mapping there, as serverless.yml adds a function with an `sqs` event.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { makeHandler as makeResponderHandler } from '../functions/responder.ts';
import { makeHandler as makeSenderHandler } from '../functions/sender.ts';
import { makeHandler as makeWebhookHandler } from '../functions/webhook.ts';
import { parseWebhookBody } from '../lib/meta/inbound.ts';
import type { Env } from '../lib/platform/config.ts';
import { type ConversationState, memoryConversationState } from '../lib/platform/conversation-state.ts';
import { type Ledger, memoryLedger } from '../lib/platform/ledger.ts';
import type { Channel } from '../lib/queue/recipient.ts';
import type { Action, ActionKind } from '../lib/queue/step.ts';
import type { ResponderOverrides } from '../lib/responder/deps.ts';
import type { SenderOverrides } from '../lib/sender/deps.ts';
import type { WebhookOverrides } from '../lib/webhook/deps.ts';
import { verifySignature } from '../lib/webhook/signature.ts';
import { LOCAL_PAGE_ID, LOCAL_SECRETS } from './defaults.ts';
import { type BatchReport, pipelineIdle, type SqsHandler, startEventSourceMapping } from './esm.ts';
import { type GraphFake, startGraphFake } from './graph-fake.ts';
import type { FakeAccount } from './graph-fake-channels.ts';
import { type HttpApi, type HttpApiHandler, type LocalRoute, readRawBody, startHttpApi } from './http.ts';
import { postSignedWebhook, type UserInput, webhookBody } from './meta.ts';
import {
  MAX_RECEIVE_COUNT,
  RESPONDER_BATCH_SIZE,
  RESPONDER_MAX_CONCURRENCY,
  RESPONDER_TIMEOUT_SECONDS,
  SENDER_BATCH_SIZE,
  SENDER_MAX_CONCURRENCY,
  SENDER_TIMEOUT_SECONDS,
} from './queue-attributes.ts';
import { createResponderQueues, type LocalSqs, startLocalSqs } from './sqs.ts';
import { transcriptText } from './transcript.ts';

/** What the chat view and the terminal see: the user's side and the page's side of each thread. */
export type ChatEvent =
  | {
      type: 'user';
      at: number;
      pageId: string;
      psid: string;
      mid?: string;
      text?: string;
      quickReplyPayload?: string;
      postback?: string;
    }
  | {
      type: 'graph';
      at: number;
      /** The channel of the call's account (absent: Messenger): the chat view takes its look. */
      channel?: Channel;
      pageId: string;
      psid: string;
      kind?: ActionKind;
      action?: Action;
      status: number;
    };

export type StackOptions = {
  /** Extra environment for the functions (PLAN_*, RETRY_*, SENDER_*, GRAPH_*, META_* …). */
  env?: Env;
  /** Fixed ports (0 = any free port). */
  ports?: { http?: number; sqs?: number; graph?: number };
  /** 'local' (default): the local Graph fake; 'real': GRAPH_API_URL (graph.facebook.com) with env secrets. */
  graph?: 'local' | 'real';
  pageId?: string;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  /** The sender's mapping (default: as serverless.yml declares it). */
  batchSize?: number;
  maxConcurrency?: number;
  /**
   * Build the functions' SQS clients from process.env (AWS_ENDPOINT_URL_SQS …) as in Lambda; the caller
   * must then have put `localSqs.env` into process.env before the first event. Default: clients are passed in.
   */
  sqsFromProcessEnv?: boolean;
  /** Called once local SQS is up, before any function is built or any request served. */
  onSqsReady?: (sqs: LocalSqs) => void;
  webhookOverrides?: WebhookOverrides;
  senderOverrides?: SenderOverrides;
  responderOverrides?: ResponderOverrides;
  /**
   * Many accounts (issue #14): Pages, Instagram accounts and WhatsApp numbers, each with its own token.
   * The functions get META_ACCOUNT_IDS and META_ACCOUNT_TOKENS instead of the one page token, and the
   * Graph fake checks each account's requests in its channel's shape (local/graph-fake-channels.ts).
   */
  accounts?: readonly FakeAccount[];
  /** Terminal transcript; omitted: silent. */
  print?: (line: string) => void;
  onBatch?: (report: BatchReport) => void;
  onError?: (where: string, error: unknown) => void;
};

export type Stack = {
  url: string;
  webhookUrl: string;
  pageId: string;
  appSecret: string;
  verifyToken: string;
  sqs: LocalSqs;
  graph?: GraphFake;
  http: HttpApi;
  /** The env the functions were built with. */
  env: Env;
  /** Signs and POSTs a webhook event for `psid` as Meta would; resolves with the webhook's answer. */
  say: (psid: string, input: UserInput, mid?: string) => Promise<{ status: number; text: string }>;
  subscribe: (listener: (event: ChatEvent) => void) => () => void;
  /** Every queue of the pipeline empty and no function running (local/esm.ts `idle`): nothing more will happen. */
  idle: () => Promise<boolean>;
  stop: () => Promise<void>;
};

export { LOCAL_PAGE_ID, LOCAL_SECRETS };

/** A queue on the stack's local SQS. */
export type LocalQueue = { url: string; arn: string };

/** How a function gets its SQS client: the stack's, or (`sqsFromProcessEnv`) its own from process.env. */
export type SqsOverride = { sqs?: SQSClient };

/** One SQS → Lambda hop, as a function with an `sqs` event in serverless.yml. */
export type QueueWiring = {
  functionName: string;
  /** The queue the function consumes; may create it on the local SQS. Runs before any function is built. */
  queue: (sqs: LocalSqs) => LocalQueue | Promise<LocalQueue>;
  /** Variables every function gets once the queue exists (e.g. the queue URL its producer sends to). */
  env?: (queue: LocalQueue) => Env;
  /** The real handler, built from the stack's env. */
  handler: (env: Env, sqs: SqsOverride) => SqsHandler;
  /** The event source mapping (batchSize, maximum concurrency) and the function's timeout. */
  mapping: { batchSize: number; maxConcurrency: number; timeoutSeconds: number };
};

/** The step queue → sender hop. */
const senderWiring = (options: StackOptions, ledger: Ledger): QueueWiring => ({
  functionName: 'sender',
  queue: (sqs) => ({ url: sqs.queueUrl, arn: sqs.queueArn }),
  handler: (env, sqs) =>
    makeSenderHandler(env, { ...sqs, ledger, conversations: userState, ...options.senderOverrides }),
  mapping: {
    batchSize: options.batchSize ?? SENDER_BATCH_SIZE,
    maxConcurrency: options.maxConcurrency ?? SENDER_MAX_CONCURRENCY,
    timeoutSeconds: SENDER_TIMEOUT_SECONDS,
  },
});

/** The responder queue → responder hop (turns; lib/responder/turn-consumer.ts). */
const responderWiring = (options: StackOptions, ledger: Ledger): QueueWiring => {
  let dlqUrl = '';
  return {
    functionName: 'responder',
    queue: async (sqs) => {
      const created = await createResponderQueues(sqs.client);
      dlqUrl = created.dlqUrl;
      return created;
    },
    env: (queue) => ({ RESPONDER_QUEUE_URL: queue.url, RESPONDER_DLQ_URL: dlqUrl }),
    handler: (env, sqs) =>
      makeResponderHandler(env, {
        ...sqs,
        ledger,
        conversationState: userState,
        ...options.responderOverrides,
      }),
    mapping: {
      batchSize: RESPONDER_BATCH_SIZE,
      maxConcurrency: RESPONDER_MAX_CONCURRENCY,
      timeoutSeconds: RESPONDER_TIMEOUT_SECONDS,
    },
  };
};

/**
 * Every SQS → Lambda hop of the pipeline, in the order of the pipeline. Sender and responder share one
 * abort ledger, as they share the state table on AWS: the sender must see the aborts the responder records
 * (RESPONDER_MID_REPLY=restart).
 */
export const stackWiring = (options: StackOptions): QueueWiring[] => {
  const abortLedger = memoryLedger();
  return [responderWiring(options, abortLedger), senderWiring(options, abortLedger)];
};

/**
 * Who holds each conversation (lib/platform/conversation-state.ts), one record per user shared by the
 * webhook, responder and sender of this process, as they share the state table on AWS.
 */
const userState: ConversationState = memoryConversationState();

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

type ChatDeps = {
  subscribe: Stack['subscribe'];
  say: (psid: string, input: UserInput) => ReturnType<Stack['say']>;
  config: () => Record<string, unknown>;
};
type ChatRoute = (req: IncomingMessage, res: ServerResponse, deps: ChatDeps) => Promise<void> | void;

const serveWebFile =
  (file: string): ChatRoute =>
  async (_req, res) => {
    const body = await readFile(join(WEB_DIR, file));
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream',
      'cache-control': 'no-store',
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
  res.write(': connected\n\n');
  const unsubscribe = subscribe((event) => res.write(`data: ${JSON.stringify(event)}\n\n`));
  const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
};

/** What /local/say accepts: `{psid, text, quickReplyPayload?}`, or the reason it does not. */
const parseSayInput = (
  raw: string,
): { ok: true; psid: string; input: UserInput } | { ok: false; error: string } => {
  let input: { psid?: unknown; text?: unknown; quickReplyPayload?: unknown };
  try {
    input = JSON.parse(raw) as typeof input;
  } catch {
    return { ok: false, error: 'body must be JSON {psid, text, quickReplyPayload?}' };
  }
  if (typeof input.psid !== 'string' || !/^[\w-]{1,60}$/.test(input.psid)) {
    return { ok: false, error: 'psid must be 1-60 letters, digits, _ or -' };
  }
  if (typeof input.text !== 'string' || input.text.trim() === '' || input.text.length > 2000) {
    return { ok: false, error: 'text must be 1-2000 characters' };
  }
  const quick =
    typeof input.quickReplyPayload === 'string' ? { quickReplyPayload: input.quickReplyPayload } : {};
  return { ok: true, psid: input.psid, input: { text: input.text, ...quick } };
};

/** Signs the chat view's message as Meta would and forwards it to /webhook. */
const forwardSay: ChatRoute = async (req, res, { say }) => {
  const parsed = parseSayInput((await readRawBody(req)).toString('utf8'));
  if (!parsed.ok) return sendJson(res, 400, { error: parsed.error });
  const answer = await say(parsed.psid, parsed.input);
  sendJson(res, 200, { webhookStatus: answer.status, webhookAnswer: answer.text });
};

/** The chat view's routes, by `METHOD /path`. */
const CHAT_ROUTES: ReadonlyMap<string, ChatRoute> = new Map([
  ...Object.entries(WEB_FILES).map(([path, file]): [string, ChatRoute] => [
    `GET ${path}`,
    serveWebFile(file),
  ]),
  ['GET /local/config', (_req, res, deps) => sendJson(res, 200, deps.config())],
  ['GET /local/events', streamChatEvents],
  ['POST /local/say', forwardSay],
]);

/** The chat view: static files, an SSE stream of ChatEvents, and /local/say (signs + forwards to /webhook). */
const chatRoutes =
  (deps: ChatDeps): LocalRoute =>
  async (req, res, url) => {
    const route = CHAT_ROUTES.get(`${req.method} ${url.pathname}`);
    if (!route) return false;
    await route(req, res, deps);
    return true;
  };

/** The chat view's events for the messages of an accepted webhook body. */
const userEvents = (event: APIGatewayProxyEventV2): ChatEvent[] => {
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  return parseWebhookBody(JSON.parse(raw), Date.now()).events.map((e) => ({
    type: 'user',
    at: Date.now(),
    pageId: e.pageId,
    psid: e.psid,
    ...(e.mid === undefined ? {} : { mid: e.mid }),
    ...(e.text === undefined ? {} : { text: e.text }),
    ...(e.quickReplyPayload === undefined ? {} : { quickReplyPayload: e.quickReplyPayload }),
    ...(e.postback?.payload === undefined ? {} : { postback: e.postback.payload }),
  }));
};

/**
 * Reports inbound messages to the chat view and the terminal: those whose signature the webhook accepts,
 * BEFORE the handler runs — the prelude's mark_seen can reach the Graph fake before the handler returns,
 * and the user's message must show first.
 */
const tapInbound = (
  handler: HttpApiHandler,
  appSecret: string,
  emit: (event: ChatEvent) => void,
): HttpApiHandler => {
  return async (event, context) => {
    if (event.requestContext.http.method === 'POST' && event.body) {
      try {
        const raw = event.isBase64Encoded
          ? Buffer.from(event.body, 'base64')
          : Buffer.from(event.body, 'utf8');
        const signature = Object.entries(event.headers ?? {}).find(
          ([name]) => name.toLowerCase() === 'x-hub-signature-256',
        )?.[1];
        if (signature && verifySignature(raw, signature, appSecret))
          for (const e of userEvents(event)) emit(e);
      } catch {
        // The webhook answers it; an unparsable body simply shows nothing in the chat view.
      }
    }
    return handler(event, context);
  };
};

type Secrets = { appSecret: string; verifyToken: string; pageToken: string };

/** The local throwaway secrets, unless the stack talks to the real Graph API (then only what env gives). */
const stackSecrets = (options: StackOptions): Secrets => {
  const base = options.env ?? {};
  const secret = (name: keyof typeof LOCAL_SECRETS) =>
    options.graph === 'real' ? (base[name] ?? '') : (base[name] ?? LOCAL_SECRETS[name]);
  return {
    appSecret: secret('META_APP_SECRET'),
    verifyToken: secret('META_VERIFY_TOKEN'),
    pageToken: secret('META_PAGE_ACCESS_TOKEN'),
  };
};

/** A fan-out of ChatEvents to the chat view, the terminal and tests. */
const chatBus = () => {
  const listeners = new Set<(event: ChatEvent) => void>();
  const subscribe: Stack['subscribe'] = (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const emit = (event: ChatEvent) => {
    for (const l of listeners) l(event);
  };
  return { subscribe, emit };
};

/** Stops what was started, last first; a failing stop is reported and the others still run. */
const stopper = (onError: StackOptions['onError']) => {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        onError?.('stop', error);
      }
    }
  };
  return { push: (stop: () => Promise<void>) => stops.push(stop), stopAll };
};

/** The local Graph fake, its calls reported as ChatEvents (undefined when the stack uses the real Graph). */
const startLocalGraph = async (
  options: StackOptions,
  secrets: Secrets,
  emit: (event: ChatEvent) => void,
): Promise<GraphFake | undefined> => {
  if (options.graph === 'real') return undefined;
  const graph = await startGraphFake({
    appSecret: secrets.appSecret,
    accessToken: secrets.pageToken,
    ...(options.accounts && { accounts: options.accounts }),
    ...(options.ports?.graph === undefined ? {} : { port: options.ports.graph }),
    ...(options.print ? { print: options.print } : {}),
  });
  graph.subscribe((call) =>
    emit({
      type: 'graph',
      at: call.at,
      ...(call.channel === undefined ? {} : { channel: call.channel }),
      pageId: call.pageId,
      psid: call.psid,
      ...(call.kind === undefined ? {} : { kind: call.kind }),
      ...(call.action === undefined ? {} : { action: call.action }),
      status: call.status,
    }),
  );
  return graph;
};

/** The queues of every hop (created if need be), and the env the functions are built with. */
const resolveWiring = async (
  wiring: readonly QueueWiring[],
  sqs: LocalSqs,
  base: Env,
): Promise<{ queues: LocalQueue[]; env: Env }> => {
  const queues: LocalQueue[] = [];
  let env = base;
  for (const hop of wiring) {
    const queue = await hop.queue(sqs);
    queues.push(queue);
    env = { ...env, ...hop.env?.(queue) };
  }
  return { queues, env };
};

/** Starts one event source mapping per hop; each is stopped before SQS and Graph go away. */
const startMappings = (
  wiring: readonly QueueWiring[],
  queues: readonly LocalQueue[],
  built: { env: Env; sqs: LocalSqs; sqsOverride: SqsOverride; options: StackOptions },
) =>
  wiring.map((hop, i) =>
    startEventSourceMapping({
      client: built.sqs.client,
      queueUrl: queues[i]?.url ?? '',
      queueArn: queues[i]?.arn ?? '',
      region: built.sqs.region,
      handler: hop.handler(built.env, built.sqsOverride),
      batchSize: hop.mapping.batchSize,
      maxConcurrency: hop.mapping.maxConcurrency,
      functionTimeoutMs: hop.mapping.timeoutSeconds * 1000,
      functionName: hop.functionName,
      ...(built.options.onBatch ? { onBatch: built.options.onBatch } : {}),
      onPollError: (error) => built.options.onError?.('poller', error),
    }),
  );

/** The webhook behind the local API Gateway, with the chat view beside it. */
const startWebhookApi = (
  options: StackOptions & { appSecret: string },
  webhook: HttpApiHandler,
  emit: (event: ChatEvent) => void,
  chat: ChatDeps,
): Promise<HttpApi> => {
  const tapped = tapInbound(webhook, options.appSecret, emit);
  return startHttpApi({
    ...(options.ports?.http === undefined ? {} : { port: options.ports.http }),
    routes: [
      { method: 'GET', path: '/webhook', handler: tapped },
      { method: 'POST', path: '/webhook', handler: tapped },
    ],
    local: [chatRoutes(chat)],
    onError: (error) => options.onError?.('webhook', error),
  });
};

/** The user's side of the conversation in the terminal transcript. */
const printUserLines = (subscribe: Stack['subscribe'], print: (line: string) => void) =>
  subscribe((e) => {
    if (e.type === 'user')
      print(`        [${e.psid}] 🧑 ${transcriptText(e.text ?? e.postback ?? '(event)')}`);
  });

const startLocalStepQueues = (options: StackOptions, maxReceiveCount: number) =>
  startLocalSqs({
    ...(options.ports?.sqs === undefined ? {} : { port: options.ports.sqs }),
    maxReceiveCount,
    ...(options.visibilityTimeoutSeconds === undefined
      ? {}
      : { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds }),
  });

/** The one page token, or each account's own (lib/platform/accounts.ts: never both). */
const accountsEnv = (accounts: readonly FakeAccount[] | undefined, pageToken: string): Env =>
  accounts === undefined
    ? { META_PAGE_ACCESS_TOKEN: pageToken }
    : {
        META_ACCOUNT_IDS: accounts.map((a) => a.id).join(','),
        META_ACCOUNT_TOKENS: JSON.stringify(Object.fromEntries(accounts.map((a) => [a.id, a.accessToken]))),
      };

/** What every function is built with: the caller's env, the local SQS, the secrets, Graph's URL. */
const functionEnv = (
  options: StackOptions,
  sqs: LocalSqs,
  secrets: Secrets,
  maxReceiveCount: number,
  graph: GraphFake | undefined,
): Env => ({
  ...options.env,
  ...sqs.env,
  META_APP_SECRET: secrets.appSecret,
  META_VERIFY_TOKEN: secrets.verifyToken,
  ...accountsEnv(options.accounts, secrets.pageToken),
  QUEUE_MAX_RECEIVE_COUNT: String(maxReceiveCount),
  ...(graph ? { GRAPH_API_URL: graph.url } : {}),
});

/** Signs and POSTs a user's message to the webhook as Meta would (the URL is known once the API listens). */
const signedSay =
  (pageId: string, appSecret: string, webhookUrl: () => string): Stack['say'] =>
  (psid, input, mid) =>
    postSignedWebhook(
      webhookUrl(),
      webhookBody({ pageId, psid, timestamp: Date.now(), ...input, ...(mid === undefined ? {} : { mid }) }),
      appSecret,
    );

/** Starts every part in order (SQS, Graph, the functions, the HTTP API, the pollers) and wires them. */
const startParts = async (options: StackOptions, stops: ReturnType<typeof stopper>): Promise<Stack> => {
  const secrets = stackSecrets(options);
  const pageId = options.pageId ?? LOCAL_PAGE_ID;
  const maxReceiveCount = options.maxReceiveCount ?? MAX_RECEIVE_COUNT;
  const { subscribe, emit } = chatBus();
  const sqs = await startLocalStepQueues(options, maxReceiveCount);
  stops.push(sqs.stop);
  options.onSqsReady?.(sqs);
  const graph = await startLocalGraph(options, secrets, emit);
  if (graph) stops.push(graph.stop);
  const wiring = stackWiring(options);
  const base = functionEnv(options, sqs, secrets, maxReceiveCount, graph);
  const { queues, env } = await resolveWiring(wiring, sqs, base);
  const sqsOverride: SqsOverride = options.sqsFromProcessEnv ? {} : { sqs: sqs.client };
  const webhook = makeWebhookHandler(env, {
    ...sqsOverride,
    conversationState: userState,
    ...options.webhookOverrides,
  });
  let webhookUrl = '';
  const say = signedSay(pageId, secrets.appSecret, () => webhookUrl);
  if (options.print) printUserLines(subscribe, options.print);
  const config = () => ({ pageId, graph: graph ? 'local' : 'real' });
  const http = await startWebhookApi({ ...options, appSecret: secrets.appSecret }, webhook, emit, {
    subscribe,
    say,
    config,
  });
  stops.push(http.stop);
  webhookUrl = `${http.url}/webhook`;
  // Stopped first (stops run in reverse): no batch may be mid-flight when SQS or Graph go away.
  const mappings = startMappings(wiring, queues, { env, sqs, sqsOverride, options });
  for (const esm of mappings) stops.push(esm.stop);
  const { appSecret, verifyToken } = secrets;
  const idle = () => pipelineIdle(mappings);
  const parts = { sqs, ...(graph ? { graph } : {}), http, env, say, subscribe, idle };
  return { url: http.url, webhookUrl, pageId, appSecret, verifyToken, ...parts, stop: stops.stopAll };
};

export const startStack = async (options: StackOptions = {}): Promise<Stack> => {
  const stops = stopper(options.onError);
  try {
    return await startParts(options, stops);
  } catch (error) {
    await stops.stopAll();
    throw error;
  }
};
