/**
 * The whole pipeline on one machine: local SQS (fauxqs) → webhook behind a local API Gateway → event
 * source mapping → sender → Graph (the local fake, or the real Graph API). Used by `npm start` and by the
 * end-to-end tests; the functions are the real handlers (functions/*.ts), configured only through env.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { makeHandler as makeSenderHandler, type SenderOverrides } from '../functions/sender.ts';
import { makeHandler as makeWebhookHandler, type WebhookOverrides } from '../functions/webhook.ts';
import { parseWebhookBody } from '../lib/ingress/events.ts';
import type { Env } from '../lib/platform/config.ts';
import type { Action, ActionKind } from '../lib/queue/step.ts';
import { LOCAL_PAGE_ID, LOCAL_SECRETS } from './defaults.ts';
import { type BatchReport, type EventSourceMapping, startEventSourceMapping } from './esm.ts';
import { type GraphFake, startGraphFake } from './graph-fake.ts';
import { type HttpApi, type HttpApiHandler, type LocalRoute, readRawBody, startHttpApi } from './http.ts';
import { postSignedWebhook, type UserInput, webhookBody } from './meta.ts';
import {
  MAX_RECEIVE_COUNT,
  SENDER_BATCH_SIZE,
  SENDER_MAX_CONCURRENCY,
  SENDER_TIMEOUT_SECONDS,
} from './queue-attributes.ts';
import { type LocalSqs, startLocalSqs } from './sqs.ts';

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
  esm: EventSourceMapping;
  http: HttpApi;
  /** The env the functions were built with. */
  env: Env;
  /** Signs and POSTs a webhook event for `psid` as Meta would; resolves with the webhook's answer. */
  say: (psid: string, input: UserInput, mid?: string) => Promise<{ status: number; text: string }>;
  subscribe: (listener: (event: ChatEvent) => void) => () => void;
  stop: () => Promise<void>;
};

export { LOCAL_PAGE_ID, LOCAL_SECRETS };

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

/** The chat view: static files, an SSE stream of ChatEvents, and /local/say (signs + forwards to /webhook). */
const chatRoutes = (
  subscribe: Stack['subscribe'],
  say: Stack['say'],
  config: () => Record<string, unknown>,
): LocalRoute[] => [
  async (req, res, url) => {
    const file = WEB_FILES[url.pathname];
    if (req.method !== 'GET' || !file) return false;
    const body = await readFile(join(WEB_DIR, file));
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(body);
    return true;
  },
  (req, res, url) => {
    if (req.method !== 'GET' || url.pathname !== '/local/config') return false;
    sendJson(res, 200, config());
    return true;
  },
  (req, res, url) => {
    if (req.method !== 'GET' || url.pathname !== '/local/events') return false;
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
    return true;
  },
  async (req, res, url) => {
    if (req.method !== 'POST' || url.pathname !== '/local/say') return false;
    let input: { psid?: unknown; text?: unknown; quickReplyPayload?: unknown };
    try {
      input = JSON.parse((await readRawBody(req)).toString('utf8')) as typeof input;
    } catch {
      sendJson(res, 400, { error: 'body must be JSON {psid, text, quickReplyPayload?}' });
      return true;
    }
    if (typeof input.psid !== 'string' || !/^[\w-]{1,60}$/.test(input.psid)) {
      sendJson(res, 400, { error: 'psid must be 1-60 letters, digits, _ or -' });
      return true;
    }
    if (typeof input.text !== 'string' || input.text.trim() === '' || input.text.length > 2000) {
      sendJson(res, 400, { error: 'text must be 1-2000 characters' });
      return true;
    }
    const quick =
      typeof input.quickReplyPayload === 'string' ? { quickReplyPayload: input.quickReplyPayload } : {};
    const answer = await say(input.psid, { text: input.text, ...quick });
    sendJson(res, 200, { webhookStatus: answer.status, webhookAnswer: answer.text });
    return true;
  },
];

/** Reports inbound messages (after the real handler accepted them) to the chat view and the terminal. */
const tapInbound = (handler: HttpApiHandler, emit: (event: ChatEvent) => void): HttpApiHandler => {
  return async (event: APIGatewayProxyEventV2, context) => {
    const result = await handler(event, context);
    const status =
      typeof result === 'object' && result !== null && 'statusCode' in result ? result.statusCode : 200;
    if (event.requestContext.http.method === 'POST' && status === 200 && event.body) {
      try {
        const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
        for (const e of parseWebhookBody(JSON.parse(raw), Date.now()).events) {
          emit({
            type: 'user',
            at: Date.now(),
            pageId: e.pageId,
            psid: e.psid,
            ...(e.mid === undefined ? {} : { mid: e.mid }),
            ...(e.text === undefined ? {} : { text: e.text }),
            ...(e.quickReplyPayload === undefined ? {} : { quickReplyPayload: e.quickReplyPayload }),
            ...(e.postback?.payload === undefined ? {} : { postback: e.postback.payload }),
          });
        }
      } catch {
        // The webhook already answered; an unparsable body simply shows nothing in the chat view.
      }
    }
    return result;
  };
};

export const startStack = async (options: StackOptions = {}): Promise<Stack> => {
  const base = options.env ?? {};
  const secret = (name: keyof typeof LOCAL_SECRETS) =>
    options.graph === 'real' ? (base[name] ?? '') : (base[name] ?? LOCAL_SECRETS[name]);
  const appSecret = secret('META_APP_SECRET');
  const verifyToken = secret('META_VERIFY_TOKEN');
  const pageToken = secret('META_PAGE_ACCESS_TOKEN');
  const pageId = options.pageId ?? LOCAL_PAGE_ID;
  const maxReceiveCount = options.maxReceiveCount ?? MAX_RECEIVE_COUNT;
  const listeners = new Set<(event: ChatEvent) => void>();
  const emit = (event: ChatEvent) => {
    for (const l of listeners) l(event);
  };
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        options.onError?.('stop', error);
      }
    }
  };

  try {
    const sqs = await startLocalSqs({
      ...(options.ports?.sqs === undefined ? {} : { port: options.ports.sqs }),
      maxReceiveCount,
      ...(options.visibilityTimeoutSeconds === undefined
        ? {}
        : { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds }),
    });
    stops.push(sqs.stop);
    options.onSqsReady?.(sqs);

    let graph: GraphFake | undefined;
    if (options.graph !== 'real') {
      graph = await startGraphFake({
        appSecret,
        accessToken: pageToken,
        ...(options.ports?.graph === undefined ? {} : { port: options.ports.graph }),
        ...(options.print ? { print: options.print } : {}),
      });
      stops.push(graph.stop);
      graph.subscribe((call) =>
        emit({
          type: 'graph',
          at: call.at,
          pageId: call.pageId,
          psid: call.psid,
          ...(call.kind === undefined ? {} : { kind: call.kind }),
          ...(call.action === undefined ? {} : { action: call.action }),
          status: call.status,
        }),
      );
    }

    const env: Env = {
      ...base,
      ...sqs.env,
      META_APP_SECRET: appSecret,
      META_VERIFY_TOKEN: verifyToken,
      META_PAGE_ACCESS_TOKEN: pageToken,
      QUEUE_MAX_RECEIVE_COUNT: String(maxReceiveCount),
      ...(graph ? { GRAPH_API_URL: graph.url } : {}),
    };
    const sqsOverride = options.sqsFromProcessEnv ? {} : { sqs: sqs.client };
    const webhook = makeWebhookHandler(env, { ...sqsOverride, ...options.webhookOverrides });
    const sender = makeSenderHandler(env, { ...sqsOverride, ...options.senderOverrides });

    let webhookUrl = '';
    const say: Stack['say'] = (psid, input, mid) =>
      postSignedWebhook(
        webhookUrl,
        webhookBody({ pageId, psid, timestamp: Date.now(), ...input, ...(mid === undefined ? {} : { mid }) }),
        appSecret,
      );
    const subscribe: Stack['subscribe'] = (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    };
    if (options.print) {
      const print = options.print;
      subscribe((e) => {
        if (e.type === 'user') print(`        [${e.psid}] 🧑 ${e.text ?? e.postback ?? '(event)'}`);
      });
    }

    const tapped = tapInbound(webhook, emit);
    const http = await startHttpApi({
      ...(options.ports?.http === undefined ? {} : { port: options.ports.http }),
      routes: [
        { method: 'GET', path: '/webhook', handler: tapped },
        { method: 'POST', path: '/webhook', handler: tapped },
      ],
      local: chatRoutes(
        subscribe,
        (psid, input) => say(psid, input),
        () => ({ pageId, graph: graph ? 'local' : 'real' }),
      ),
      onError: (error) => options.onError?.('webhook', error),
    });
    stops.push(http.stop);
    webhookUrl = `${http.url}/webhook`;

    const esm = startEventSourceMapping({
      client: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      region: sqs.region,
      handler: sender,
      batchSize: options.batchSize ?? SENDER_BATCH_SIZE,
      maxConcurrency: options.maxConcurrency ?? SENDER_MAX_CONCURRENCY,
      functionTimeoutMs: SENDER_TIMEOUT_SECONDS * 1000,
      functionName: 'sender',
      ...(options.onBatch ? { onBatch: options.onBatch } : {}),
      onPollError: (error) => options.onError?.('poller', error),
    });
    // Stopped first (stops run in reverse): no batch may be mid-flight when SQS or Graph go away.
    stops.push(esm.stop);

    return {
      url: http.url,
      webhookUrl,
      pageId,
      appSecret,
      verifyToken,
      sqs,
      ...(graph ? { graph } : {}),
      esm,
      http,
      env,
      say,
      subscribe,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
};
