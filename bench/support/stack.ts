/**
 * The local stack for benches, spread over processes so no part measures another's CPU:
 * fauxqs (local/sqs.ts) and a recording fake Graph run in child processes; this process runs the
 * event-source-mapping poller (local/esm.ts) invoking the REAL sender handler (functions/sender.ts,
 * makeHandler with env only — its own Graph client, SQS client and sleep; telemetry kept in memory).
 *
 * Every invocation is timed from the poller's point of view (the wall time Lambda would bill).
 *
 * With `graphLatencyMs` the Graph child is the strict local fake (local/graph-fake.ts, token and
 * appsecret_proof checked, bodies validated) holding every answer back that long, as the real Send API's
 * ~100–300 ms round trip does; without it, the bare recording stand-in (child-server.ts), as before.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:http';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import type { Responder } from '../../lib/bots/responder.ts';
import type { Telemetry } from '../../lib/platform/telemetry.ts';
import { decodeStep } from '../../lib/queue/codec.ts';
import { startEventSourceMapping } from '../../local/esm.ts';
import type { LocalSqs } from '../../local/sqs.ts';
import { createResponderQueues, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/sqs.ts';
import type { RecordedCall } from './child-server.ts';
import { spawnHelper } from './spawn.ts';

export const BENCH_APP_SECRET = 'bench-app-secret-3f9a1c77e0b24d6a';
export const BENCH_PAGE_TOKEN = `EAAB${'benchPageToken'.repeat(12)}`;

/** What the SQS child process reports: the local SQS minus what cannot cross a process boundary. */
export type SqsInfo = Omit<LocalSqs, 'client' | 'stop'>;

export type Invocation = {
  sequenceId: string;
  index: number;
  delayMs: number;
  receiveCount: number;
  startedAt: number;
  durationMs: number;
  /** Of which slept inside the handler (sub-second remainders, inline waits). */
  sleptMs: number;
  /** True when the poller deleted the message (sent, skipped or dropped), false when it came back. */
  completed: boolean;
};

export type Stack = {
  /** Child process ids: the local SQS and the fake Graph (for memory sampling). */
  pids: { sqs: number; graph: number };
  sqs: SqsInfo;
  client: SQSClient;
  graphOrigin: string;
  invocations: Invocation[];
  /** With `responder`: the env a webhook needs to enqueue for it (RESPONDER_QUEUE_URL). */
  responderEnv: Record<string, string>;
  /** Drains the fake Graph's recorded calls (each call once). */
  takeCalls: () => Promise<RecordedCall[]>;
  stop: () => Promise<void>;
};

const epochNow = () => performance.timeOrigin + performance.now();

/** Telemetry that keeps nothing: long runs must not measure the memory of their own recorder. */
export const discardTelemetry = (): Telemetry => {
  const none = () => {};
  return { log: { debug: none, info: none, warn: none, error: none }, metric: none, flush: none };
};

/**
 * An SQS client with enough sockets: the SDK's default of 50 would queue the sender's calls behind the
 * poller's long polls (each holds a socket for up to WaitTimeSeconds), which is not how Lambda behaves
 * (the event source mapping's polling is not in the function's process).
 */
export const localSqsClient = (endpoint: string, maxSockets: number): SQSClient =>
  new SQSClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets }) },
  });

/** The Graph child: where it listens and where its recorded calls are drained from. */
const startGraphChild = async (latencyMs: number | undefined, extraArgs: readonly string[] = []) => {
  if (latencyMs === undefined) {
    const child = await spawnHelper<{ port: number }>(
      new URL('./child-server.ts', import.meta.url).pathname,
      ['--record'],
    );
    const origin = `http://127.0.0.1:${child.info.port}`;
    return { child, origin, callsUrl: `${origin}/__calls` };
  }
  // The bench's throwaway secrets on the command line, so no META_* variable of the shell can leak in.
  const child = await spawnHelper<{ url: string; callsUrl: string }>(
    new URL('../../local/graph-fake.ts', import.meta.url).pathname,
    [
      ...['--latency-ms', String(latencyMs), '--port', '0'],
      ...['--app-secret', BENCH_APP_SECRET, '--access-token', BENCH_PAGE_TOKEN],
      ...extraArgs,
    ],
  );
  return { child, origin: child.info.url, callsUrl: child.info.callsUrl };
};

export const startStack = async (
  options: {
    maxConcurrency?: number;
    env?: Record<string, string>;
    graphLatencyMs?: number;
    /** More flags for the strict Graph fake (with graphLatencyMs), e.g. its --rate-limit. */
    graphArgs?: readonly string[];
    /** Also run the responder function on the responder queue (batch 10, as deployed) with this responder. */
    responder?: Responder;
  } = {},
): Promise<Stack> => {
  const sqsChild = await spawnHelper<SqsInfo>(new URL('./sqs-server.ts', import.meta.url).pathname);
  const {
    child: graphChild,
    origin: graphOrigin,
    callsUrl,
  } = await startGraphChild(options.graphLatencyMs, options.graphArgs);
  const sqs = sqsChild.info;
  const pollers = options.maxConcurrency ?? 20;
  const client = localSqsClient(sqs.endpoint, 256);
  const pollerClient = localSqsClient(sqs.endpoint, pollers + 8);
  const { makeHandler } = await import('../../functions/sender.ts');
  const slept = new AsyncLocalStorage<{ ms: number }>();
  const handler = makeHandler(
    {
      ...sqs.env,
      GRAPH_API_URL: graphOrigin,
      META_APP_SECRET: BENCH_APP_SECRET,
      META_PAGE_ACCESS_TOKEN: BENCH_PAGE_TOKEN,
      ...options.env,
    },
    {
      sqs: client,
      telemetry: discardTelemetry(),
      // The handler's own sleep, attributed to the invocation that asked for it.
      sleep: async (ms) => {
        const slot = slept.getStore();
        if (slot) slot.ms += ms;
        await sleepFor(ms);
      },
    },
  );
  const invocations: Invocation[] = [];
  const timed = async (event: SQSEvent, _context: Context) => {
    const startedAt = epochNow();
    const slot = { ms: 0 };
    const response = await slept.run(slot, () => handler(event));
    const durationMs = epochNow() - startedAt;
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const record of event.Records) {
      const decoded = decodeStep(record.body);
      if (!decoded.ok) continue;
      invocations.push({
        sequenceId: decoded.step.sequenceId,
        index: decoded.step.index,
        delayMs: decoded.step.delayMs,
        receiveCount: Number(record.attributes.ApproximateReceiveCount),
        startedAt,
        // batchSize 1: the invocation is the step's.
        durationMs,
        sleptMs: slot.ms,
        completed: !failed.has(record.messageId),
      });
    }
    return response;
  };
  const esm = startEventSourceMapping({
    client: pollerClient,
    queueUrl: sqs.queueUrl,
    queueArn: sqs.queueArn,
    region: sqs.region,
    handler: timed,
    // serverless.yml: batchSize 1, maximumConcurrency senderMaxConcurrency, timeout 15 s.
    batchSize: 1,
    maxConcurrency: pollers,
    ...(process.env.BENCH_ESM_RECEIVERS && { receivers: Number(process.env.BENCH_ESM_RECEIVERS) }),
    functionTimeoutMs: 15_000,
    waitTimeSeconds: 2,
  });
  const responderHop = options.responder
    ? await startResponder(sqs, pollerClient, client, options.responder, options.env)
    : undefined;
  const responderEsm = responderHop?.esm;
  return {
    pids: { sqs: sqsChild.process.pid ?? 0, graph: graphChild.process.pid ?? 0 },
    sqs,
    client,
    graphOrigin,
    invocations,
    responderEnv: responderHop ? { RESPONDER_QUEUE_URL: responderHop.queueUrl } : {},
    takeCalls: async () => (await (await fetch(callsUrl)).json()) as RecordedCall[],
    stop: async () => {
      await responderEsm?.stop();
      await esm.stop();
      client.destroy();
      pollerClient.destroy();
      await Promise.all([sqsChild.stop(), graphChild.stop()]);
    },
  };
};

/** Runs `work` over `items` with at most `limit` in flight. */
/** The responder function behind its own poller, as serverless.yml maps it (batch 10, 120 s timeout). */
const startResponder = async (
  sqs: SqsInfo,
  pollerClient: SQSClient,
  client: SQSClient,
  responder: Responder,
  env: Record<string, string> = {},
) => {
  const { makeHandler } = await import('../../functions/responder.ts');
  const queue = await createResponderQueues(client);
  const handler = makeHandler(
    {
      ...sqs.env,
      RESPONDER_QUEUE_URL: queue.url,
      RESPONDER_DLQ_URL: queue.dlqUrl,
      RESPONDER_QUIET_MS: '0',
      ...env,
    },
    { sqs: client, telemetry: discardTelemetry(), responder },
  );
  const esm = startEventSourceMapping({
    client: pollerClient,
    queueUrl: queue.url,
    queueArn: queue.arn,
    region: sqs.region,
    handler: (event, context) => handler(event, context),
    batchSize: 10,
    maxConcurrency: 20,
    functionTimeoutMs: 120_000,
    waitTimeSeconds: 2,
  });
  return { esm, queueUrl: queue.url };
};

export const inBatches = async <T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) => {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
};
