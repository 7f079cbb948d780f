/**
 * The whole pipeline on one machine: local SQS (fauxqs) → webhook behind a local API Gateway → event
 * source mapping → sender → Graph (the local fake, or the real Graph API), with the state table on a local
 * DynamoDB (dynalite, local/dynamo.ts). Used by `npm start` and by the end-to-end tests; the functions are
 * the real handlers (functions/*.ts), configured only through env.
 *
 * Each SQS → Lambda hop is one `QueueWiring` entry (see `stackWiring`): a new stage adds its queue,
 * function and mapping there, as serverless.yml adds a function with an `sqs` event.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { makeHandler as makeResponderHandler } from '../functions/responder.ts';
import { makeHandler as makeSenderHandler } from '../functions/sender.ts';
import { makeHandler as makeWebhookHandler } from '../functions/webhook.ts';
import type { TakeoverKind } from '../lib/meta/takeover.ts';
import type { Env } from '../lib/platform/config.ts';
import { type ConversationState, memoryConversationState } from '../lib/platform/conversation-state.ts';
import { type Ledger, memoryLedger } from '../lib/platform/ledger.ts';
import type { Channel } from '../lib/queue/recipient.ts';
import type { Action, ActionKind } from '../lib/queue/step.ts';
import type { ResponderOverrides } from '../lib/responder/deps.ts';
import type { SenderOverrides } from '../lib/sender/deps.ts';
import type { WebhookOverrides } from '../lib/webhook/deps.ts';
import { type ChatDeps, chatRoutes } from './chat-view.ts';
import { LOCAL_PAGE_ID, LOCAL_SECRETS } from './defaults.ts';
import { type LocalDynamo, startLocalDynamo } from './dynamo.ts';
import { type BatchReport, pipelineIdle, type SqsHandler, startEventSourceMapping } from './esm.ts';
import { type GraphFake, startGraphFake } from './graph-fake.ts';
import type { FakeAccount } from './graph-fake-channels.ts';
import { type HttpApi, type HttpApiHandler, startHttpApi } from './http.ts';
import { inboundTap, replyTrace, signedUserEvents, takeoverViewOf } from './inbound-tap.ts';
import { newLocalToken } from './local-guard.ts';
import { channelWebhookBody, type LocalAccount, postSignedWebhook } from './meta.ts';
import { postPageEcho } from './page-echo.ts';
import {
  MAX_RECEIVE_COUNT,
  RESPONDER_BATCH_SIZE,
  RESPONDER_MAX_CONCURRENCY,
  RESPONDER_TIMEOUT_SECONDS,
  SENDER_BATCH_SIZE,
  SENDER_MAX_CONCURRENCY,
  SENDER_TIMEOUT_SECONDS,
} from './queue-attributes.ts';
import { createResponderQueues, createShardQueues, type LocalSqs, startLocalSqs } from './sqs.ts';
import { takeoverLine, transcriptText } from './transcript.ts';
import { rememberingErrors, warmSqsFunction, warmWebhook } from './warm-up.ts';

/** What the chat view and the terminal see: the user's side and the page's side of each thread. */
export type ChatEvent =
  | {
      type: 'user';
      at: number;
      /** The channel the message came in on (the chat view takes its look). */
      channel?: Channel;
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
      /** The event id of the message this call answers (local/inbound-tap.ts replyTrace), when known. */
      replyTo?: string;
    }
  | {
      /** A person (or another app) now holds the conversation, or gave it back (local/inbound-tap.ts). */
      type: 'takeover';
      at: number;
      pageId: string;
      psid: string;
      kind: TakeoverKind;
      /** What the person wrote, when the echo carries text. */
      text?: string;
      /** When the bot may speak again (a person's pause); absent: until the thread is passed back. */
      resumesAt?: number;
    }
  | {
      /** A POST the webhook refused: not a user's message (local/inbound-tap.ts). */
      type: 'rejected';
      at: number;
      status: number;
      /** The webhook's answer, on one line with control characters made visible. */
      reason: string;
      /** How many messages the body held, when its signature held and it could be read. */
      messages: number;
      pageId?: string;
      psid?: string;
    };

export type StackOptions = {
  /** Extra environment for the functions (PLAN_*, RETRY_*, SENDER_*, GRAPH_*, META_* …). */
  env?: Env;
  /**
   * Steps and responder queues, N of each, as `--param="queueShards=N"` packages them (infra/queues.cjs);
   * default ELLIPSIS_QUEUE_SHARDS, else 1. Each shard gets its own poller (event source mapping).
   */
  queueShards?: number;
  /** Fixed ports (0 = any free port). */
  ports?: { http?: number; sqs?: number; graph?: number; dynamo?: number };
  /**
   * Where the functions keep their state table records (`event:`, `sent:`, `abort:`, `reply:`, `conv:`):
   * 'dynamo' (default), a local DynamoDB (dynalite) as in AWS; 'memory', per-process ledgers.
   */
  stateTable?: 'dynamo' | 'memory';
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
  /**
   * Build the functions' DynamoDB clients from process.env (AWS_ENDPOINT_URL_DYNAMODB) as in Lambda; the
   * caller must then put `dynamo.env` into process.env (`onDynamoReady`). Default: the stack's client is passed in.
   */
  dynamoFromProcessEnv?: boolean;
  /** Called once the local state table exists, before any function is built. */
  onDynamoReady?: (dynamo: LocalDynamo) => void;
  webhookOverrides?: WebhookOverrides;
  senderOverrides?: SenderOverrides;
  responderOverrides?: ResponderOverrides;
  /**
   * Many accounts (issue #14): Pages, Instagram accounts and WhatsApp numbers, each with its own token.
   * The functions get META_ACCOUNT_IDS and META_ACCOUNT_TOKENS instead of the one page token, and the
   * Graph fake checks each account's requests in its channel's shape (local/graph-fake-channels.ts).
   */
  accounts?: readonly FakeAccount[];
  /**
   * WhatsApp messages the accounts' numbers received before the start (wamid → user): a console trigger
   * may answer them (local/defaults.ts LOCAL_WHATSAPP_RECEIVED). Messages posted to the webhook need no entry.
   */
  whatsappReceived?: readonly { wamid: string; psid: string }[];
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
  /** The local state table (absent with `stateTable: 'memory'`). */
  dynamo?: LocalDynamo;
  graph?: GraphFake;
  http: HttpApi;
  /** The env the functions were built with. */
  env: Env;
  /** The accounts served with their channels: `accounts`, else the one Page (`pageId`, Messenger). */
  accounts: readonly LocalAccount[];
  /**
   * Signs and POSTs a webhook event for `psid` as Meta would, in the channel's shape of `account` (an id of
   * `accounts`; default `pageId`); resolves with the webhook's answer.
   */
  say: ChatDeps['say'];
  subscribe: ChatDeps['subscribe'];
  /** Signs and POSTs the echo of a message the Page sent `psid` (local/page-echo.ts): a person, unless `appId` is this app's. */
  echo: (psid: string, text: string, appId?: string) => Promise<{ status: number; text: string }>;
  /** The per-start token the chat page carries; every /local/* request must present it (local/local-guard.ts). */
  localToken: string;
  /** Every queue of the pipeline empty and no function running (local/esm.ts `idle`): nothing more will happen. */
  idle: () => Promise<boolean>;
  stop: () => Promise<void>;
};

export { LOCAL_PAGE_ID, LOCAL_SECRETS };

/** A queue on the stack's local SQS (and its DLQ, when it has one). */
export type LocalQueue = { url: string; arn: string; dlqUrl?: string };

/**
 * How a function gets its SQS and DynamoDB clients and its ledger: the stack's, or (`sqsFromProcessEnv`,
 * `dynamoFromProcessEnv`) its own from process.env; a ledger only with `stateTable: 'memory'`.
 */
export type SqsOverride = {
  sqs?: SQSClient;
  dynamo?: DynamoDBClient;
  ledger?: Ledger;
  /** Without a state table: one per-user record shared by the functions (the sender names it `conversations`). */
  conversations?: ConversationState;
  conversationState?: ConversationState;
};

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
const senderWiring = (options: StackOptions): QueueWiring => ({
  functionName: 'sender',
  queue: (sqs) => ({ url: sqs.queueUrl, arn: sqs.queueArn, dlqUrl: sqs.dlqUrl }),
  handler: (env, clients) => makeSenderHandler(env, { ...clients, ...options.senderOverrides }),
  mapping: {
    batchSize: options.batchSize ?? SENDER_BATCH_SIZE,
    maxConcurrency: options.maxConcurrency ?? SENDER_MAX_CONCURRENCY,
    timeoutSeconds: SENDER_TIMEOUT_SECONDS,
  },
});

/** The responder queue → responder hop (turns; lib/responder/turn-consumer.ts). */
const responderWiring = (options: StackOptions): QueueWiring => {
  let dlqUrl = '';
  return {
    functionName: 'responder',
    queue: async (sqs) => {
      const created = await createResponderQueues(sqs.client);
      dlqUrl = created.dlqUrl;
      return created;
    },
    env: (queue) => ({ RESPONDER_QUEUE_URL: queue.url, RESPONDER_DLQ_URL: dlqUrl }),
    handler: (env, clients) => makeResponderHandler(env, { ...clients, ...options.responderOverrides }),
    mapping: {
      batchSize: RESPONDER_BATCH_SIZE,
      maxConcurrency: RESPONDER_MAX_CONCURRENCY,
      timeoutSeconds: RESPONDER_TIMEOUT_SECONDS,
    },
  };
};

/** Every SQS → Lambda hop of the pipeline, in the order of the pipeline, shard 0 first. */
export const stackWiring = (options: StackOptions): QueueWiring[] => [
  responderWiring(options),
  senderWiring(options),
  ...shardWiring(options),
];

/** How many queue shards the stack runs: the option, else ELLIPSIS_QUEUE_SHARDS, else 1. */
export const queueShardsOf = (options: StackOptions): number => {
  const n = options.queueShards ?? Number(process.env.ELLIPSIS_QUEUE_SHARDS ?? 1);
  if (!Number.isInteger(n) || n < 1) throw new Error(`queueShards must be a whole number ≥ 1 (got ${n})`);
  return n;
};

/** Shards 1…N−1: one responder and one sender hop each, on their own queues (local/sqs.ts createShardQueues). */
const shardWiring = (options: StackOptions): QueueWiring[] =>
  Array.from({ length: queueShardsOf(options) - 1 }, (_, k) => k + 1).flatMap((i) => [
    {
      ...responderWiring(options),
      queue: (sqs: LocalSqs) => createShardQueues(sqs.client, 'responder', i),
      env: undefined,
    },
    {
      ...senderWiring(options),
      queue: (sqs: LocalSqs) => createShardQueues(sqs.client, 'steps', i, sqs.stepQueueOptions),
    },
  ]);

/** Every function told every shard (serverless.yml: QUEUE_URLS, DLQ_URLS, RESPONDER_QUEUE_URLS, RESPONDER_DLQ_URLS). */
const shardEnv = (wiring: readonly QueueWiring[], queues: readonly LocalQueue[]): Env => {
  const of = (fn: string) => queues.filter((_, i) => wiring[i]?.functionName === fn);
  const [steps, responder] = [of('sender'), of('responder')];
  if (steps.length < 2) return {};
  const list = (qs: LocalQueue[], key: 'url' | 'dlqUrl') => qs.map((q) => q[key] ?? '').join(',');
  return {
    QUEUE_URLS: list(steps, 'url'),
    DLQ_URLS: list(steps, 'dlqUrl'),
    RESPONDER_QUEUE_URLS: list(responder, 'url'),
    RESPONDER_DLQ_URLS: list(responder, 'dlqUrl'),
  };
};

/** The SQS and DynamoDB clients the functions are built with: the stack's, or none (found through process.env). */
const functionClients = (
  options: StackOptions,
  sqs: LocalSqs,
  dynamo: LocalDynamo | undefined,
): SqsOverride => {
  // Without a state table the functions would each keep their own record of who holds a conversation.
  const shared = dynamo === undefined ? memoryConversationState() : undefined;
  return {
    ...(options.sqsFromProcessEnv ? {} : { sqs: sqs.client }),
    ...(dynamo !== undefined && !options.dynamoFromProcessEnv ? { dynamo: dynamo.client } : {}),
    ...(shared && { conversations: shared, conversationState: shared }),
  };
};

/**
 * With a state table, each function builds its own ledgers from STATE_TABLE_NAME, as in AWS. Without one,
 * sender and responder share one abort ledger, as they share the table on AWS: the sender must see the
 * aborts the responder records (RESPONDER_MID_REPLY=restart).
 */
const consumerClients = (clients: SqsOverride, dynamo: LocalDynamo | undefined): SqsOverride =>
  dynamo === undefined ? { ...clients, ledger: memoryLedger() } : clients;

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

/**
 * The account a Graph call acted for: its node, unless that is `me` (Instagram's node, and Messenger's
 * alternative), which means the token's account: the one account of the call's channel, when there is one.
 */
const accountOfNode = (options: StackOptions, call: { pageId: string; channel?: Channel }): string => {
  if (call.pageId !== 'me') return call.pageId;
  const channel = call.channel ?? 'messenger';
  const ids = options.accounts?.filter((a) => a.channel === channel).map((a) => a.id) ?? [];
  const candidates = ids.length > 0 ? ids : channel === 'messenger' && options.pageId ? [options.pageId] : [];
  return candidates.length === 1 ? (candidates[0] ?? call.pageId) : call.pageId;
};

/** The local Graph fake, its calls reported as ChatEvents (undefined when the stack uses the real Graph). */
const startLocalGraph = async (
  options: StackOptions,
  secrets: Secrets,
  hooks: {
    emit: (event: Extract<ChatEvent, { type: 'graph' }>) => void;
    replyTo: (pageId: string, psid: string) => string | undefined;
  },
): Promise<GraphFake | undefined> => {
  if (options.graph === 'real') return undefined;
  const graph = await startGraphFake({
    appSecret: secrets.appSecret,
    accessToken: secrets.pageToken,
    ...(options.accounts && { accounts: options.accounts }),
    // One-token mode with a named Page (npm start always names it): the token is that Page's, and Graph
    // refuses it for any other (local/graph-fake.ts). Without one, benches' generated Pages stay served.
    ...(!options.accounts && options.pageId !== undefined && { pageId: options.pageId }),
    ...(options.ports?.graph === undefined ? {} : { port: options.ports.graph }),
    ...(options.print ? { print: options.print } : {}),
  });
  for (const { wamid, psid } of options.whatsappReceived ?? []) graph.noteInbound(wamid, psid);
  graph.subscribe((call) => {
    const pageId = accountOfNode(options, call);
    const replyTo = hooks.replyTo(pageId, call.psid);
    hooks.emit({
      type: 'graph',
      at: call.at,
      ...(call.channel === undefined ? {} : { channel: call.channel }),
      pageId,
      psid: call.psid,
      ...(call.kind === undefined ? {} : { kind: call.kind }),
      ...(call.action === undefined ? {} : { action: call.action }),
      status: call.status,
      ...(replyTo === undefined ? {} : { replyTo }),
    });
  });
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
  return { queues, env: { ...env, ...shardEnv(wiring, queues) } };
};

/** Starts one event source mapping per hop; each is stopped before SQS and Graph go away. */
const startMappings = (
  wiring: readonly QueueWiring[],
  queues: readonly LocalQueue[],
  built: { handlers: readonly SqsHandler[]; sqs: LocalSqs; options: StackOptions },
) =>
  wiring.map((hop, i) =>
    startEventSourceMapping({
      client: built.sqs.client,
      queueUrl: queues[i]?.url ?? '',
      queueArn: queues[i]?.arn ?? '',
      region: built.sqs.region,
      handler: built.handlers[i] ?? (async () => undefined),
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
  options: StackOptions & { appSecret: string; functionEnv: Env },
  webhook: HttpApiHandler,
  tap: ReturnType<typeof inboundTap>,
  chat: ChatDeps,
): Promise<HttpApi> => {
  const tapped = tap.tap(webhook, options.appSecret, takeoverViewOf(options.functionEnv));
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

/** The user's side of the conversation in the terminal transcript, and the bodies the webhook refused. */
const printUserLines = (subscribe: Stack['subscribe'], print: (line: string) => void) =>
  subscribe((e) => {
    if (e.type === 'user')
      print(`        [${transcriptText(e.psid)}] 🧑 ${transcriptText(e.text ?? e.postback ?? '(event)')}`);
    if (e.type === 'takeover') print(`        [${transcriptText(e.psid)}] ${takeoverLine(e)}`);
    if (e.type === 'rejected') {
      const who = e.psid === undefined ? '' : `[${transcriptText(e.psid)}] `;
      print(`        ${who}✖ webhook refused a body (${e.status}: ${e.reason}); not shown as a message`);
    }
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

/** What every function is built with: the caller's env, the local SQS and table, the secrets, Graph's URL. */
const functionEnv = (
  options: StackOptions,
  local: { sqs: LocalSqs; dynamo: LocalDynamo | undefined; graph: GraphFake | undefined },
  secrets: Secrets,
  maxReceiveCount: number,
): Env => ({
  ...options.env,
  ...local.sqs.env,
  ...local.dynamo?.env,
  META_APP_SECRET: secrets.appSecret,
  META_VERIFY_TOKEN: secrets.verifyToken,
  ...accountsEnv(options.accounts, secrets.pageToken),
  QUEUE_MAX_RECEIVE_COUNT: String(maxReceiveCount),
  ...(local.graph ? { GRAPH_API_URL: local.graph.url } : {}),
});

/** The local state table, unless the caller asked for per-process memory. */
const startStateTable = async (options: StackOptions): Promise<LocalDynamo | undefined> => {
  if (options.stateTable === 'memory') return undefined;
  const dynamo = await startLocalDynamo(
    options.ports?.dynamo === undefined ? {} : { port: options.ports.dynamo },
  );
  options.onDynamoReady?.(dynamo);
  return dynamo;
};

/** The accounts the stack serves, as the chat view and `npm run chat` pick them. */
const servedAccounts = (options: StackOptions, pageId: string): LocalAccount[] =>
  options.accounts?.map(({ id, channel }) => ({ id, channel })) ?? [{ id: pageId, channel: 'messenger' }];

/**
 * Signs and POSTs a user's message to the webhook as Meta would, in the shape of the account's channel
 * (the URL is known once the API listens). An account the stack does not serve is refused here.
 */
const signedSay =
  (
    accounts: readonly LocalAccount[],
    secret: { appSecret: string; pageId: string },
    webhookUrl: () => string,
  ): Stack['say'] =>
  async (psid, input, mid, accountId = secret.pageId) => {
    const account = accounts.find((a) => a.id === accountId);
    if (account === undefined) throw new Error(`the local stack serves no account ${accountId}`);
    const at = Date.now();
    const message = {
      pageId: account.id,
      psid,
      timestamp: at,
      ...input,
      ...(mid === undefined ? {} : { mid }),
    };
    return postSignedWebhook(webhookUrl(), channelWebhookBody(account.channel, message), secret.appSecret);
  };

/**
 * Meta knows every message a WhatsApp number received; the Graph fake learns them from the signed bodies
 * posted to the webhook, before the webhook runs (its prelude's read call may reach Graph first).
 */
const notingWhatsAppInbound =
  (handler: HttpApiHandler, appSecret: string, graph: GraphFake | undefined): HttpApiHandler =>
  (event, context) => {
    if (graph !== undefined && event.requestContext.http.method === 'POST')
      for (const e of signedUserEvents(event, appSecret))
        if (e.channel === 'whatsapp' && e.mid !== undefined) graph.noteInbound(e.mid, e.psid);
    return handler(event, context);
  };

/** The services the functions talk to: SQS, the state table, Graph (each stopped after the functions). */
const startServices = async (
  options: StackOptions,
  stops: ReturnType<typeof stopper>,
  graphFor: () => Promise<GraphFake | undefined>,
  maxReceiveCount: number,
) => {
  const sqs = await startLocalStepQueues(options, maxReceiveCount);
  stops.push(sqs.stop);
  options.onSqsReady?.(sqs);
  const dynamo = await startStateTable(options);
  if (dynamo) stops.push(dynamo.stop);
  const graph = await graphFor();
  if (graph) stops.push(graph.stop);
  return { sqs, dynamo, graph };
};

/** The webhook handler, its telemetry remembering its start-up error for the warm-up's message. */
const buildWebhook = (options: StackOptions, env: Env, sqsOverride: SqsOverride) => {
  const given = options.webhookOverrides?.telemetry;
  const remembering = given ? rememberingErrors(given) : undefined;
  const overrides = { ...sqsOverride, ...options.webhookOverrides };
  const handler = makeWebhookHandler(
    env,
    remembering ? { ...overrides, telemetry: remembering.telemetry } : overrides,
  );
  return { handler, lastError: () => remembering?.lastError() };
};

/** Builds every function and runs its cold start now (local/warm-up.ts): bad configuration stops the start. */
const buildFunctions = async (
  wiring: readonly QueueWiring[],
  built: {
    options: StackOptions;
    env: Env;
    clients: SqsOverride;
    consumer: SqsOverride;
    trace: ReturnType<typeof replyTrace>;
  },
) => {
  const { options, env, clients, consumer, trace } = built;
  const webhook = buildWebhook(options, env, clients);
  await warmWebhook(webhook.handler, webhook.lastError);
  const handlers: SqsHandler[] = [];
  for (const hop of wiring) {
    const handler = hop.handler(env, consumer);
    await warmSqsFunction(hop.functionName, handler);
    handlers.push(hop.functionName === 'sender' ? trace.wrap(handler) : handler);
  }
  return { webhook: webhook.handler, handlers };
};

/** Starts every part in order (SQS, Graph, the functions, the HTTP API, the pollers) and wires them. */
const startParts = async (options: StackOptions, stops: ReturnType<typeof stopper>): Promise<Stack> => {
  const secrets = stackSecrets(options);
  const pageId = options.pageId ?? options.accounts?.[0]?.id ?? LOCAL_PAGE_ID;
  const maxReceiveCount = options.maxReceiveCount ?? MAX_RECEIVE_COUNT;
  const { subscribe, emit } = chatBus();
  const tap = inboundTap(emit);
  const trace = replyTrace();
  const graphFor = () => startLocalGraph(options, secrets, { emit: tap.emitGraph, replyTo: trace.replyTo });
  const { sqs, dynamo, graph } = await startServices(options, stops, graphFor, maxReceiveCount);
  const wiring = stackWiring(options);
  const base = functionEnv(options, { sqs, dynamo, graph }, secrets, maxReceiveCount);
  const { queues, env } = await resolveWiring(wiring, sqs, base);
  const clients = functionClients(options, sqs, dynamo);
  const consumer = consumerClients(clients, dynamo);
  const { webhook, handlers } = await buildFunctions(wiring, { options, env, clients, consumer, trace });
  let webhookUrl = '';
  const accounts = servedAccounts(options, pageId);
  const say = signedSay(accounts, { appSecret: secrets.appSecret, pageId }, () => webhookUrl);
  const echo: Stack['echo'] = (psid, text, appId) =>
    postPageEcho(webhookUrl, secrets.appSecret, { pageId, psid, text, ...(appId && { appId }) });
  if (options.print) printUserLines(subscribe, options.print);
  const config = () => ({ pageId, accounts, graph: graph ? 'local' : 'real' });
  const localToken = newLocalToken();
  let idle: () => Promise<boolean> = async () => false;
  const chat = { subscribe, say, echo, accounts, config, idle: () => idle(), token: localToken };
  const noting = notingWhatsAppInbound(webhook, secrets.appSecret, graph);
  const apiOptions = { ...options, appSecret: secrets.appSecret, functionEnv: env };
  const http = await startWebhookApi(apiOptions, noting, tap, chat);
  stops.push(http.stop);
  webhookUrl = `${http.url}/webhook`;
  // Stopped first (stops run in reverse): no batch may be mid-flight when SQS or Graph go away.
  const mappings = startMappings(wiring, queues, { handlers, sqs, options });
  for (const esm of mappings) stops.push(esm.stop);
  const { appSecret, verifyToken } = secrets;
  idle = () => pipelineIdle(mappings);
  const parts = {
    sqs,
    ...(dynamo && { dynamo }),
    ...(graph && { graph }),
    http,
    env,
    say,
    echo,
    subscribe,
    idle,
    localToken,
  };
  return {
    url: http.url,
    webhookUrl,
    pageId,
    accounts,
    appSecret,
    verifyToken,
    ...parts,
    stop: stops.stopAll,
  };
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
