/**
 * Ingress: the REAL webhook handler (functions/webhook.ts makeHandler: signature, parse, responder,
 * planner, producer) on Meta-sized POST bodies of 1, 10 and 100 messaging events (one user each).
 * Two SQS back ends, interleaved round by round: fauxqs in its own process (real SQS API over HTTP) and
 * an in-process stub that answers SendMessageBatch at once (what the handler itself costs). Every SQS
 * command is counted by an SDK middleware, so "SQS calls per inbound message" is measured, not assumed.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { batchedWebhookBody, postEvent, signatureOf, usersBatch } from '../../local/meta.ts';
import type { Bench } from '../support/report.ts';
import { spawnHelper } from '../support/spawn.ts';
import { discardTelemetry, localSqsClient, type SqsInfo } from '../support/stack.ts';
import { distribution } from '../support/stats.ts';

const APP_SECRET = 'bench-webhook-secret-77a1e0c4';
const BATCHES = [1, 10, 100];
const ROUNDS = 6;
/** Requests per batch size per round (fewer for big bodies to keep the run short). */
const PER_ROUND: Record<number, number> = { 1: 60, 10: 20, 100: 4 };

type Counter = Map<string, number>;

const counted = (client: SQSClient, counter: Counter): SQSClient => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counter.set(name, (counter.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCommandCounter' },
  );
  return client;
};

/** A stub SQS that accepts every SendMessageBatch entry at once (no network). */
const stubSqs = (counter: Counter): SQSClient =>
  ({
    send: async (command: unknown) => {
      const name = (command as { constructor: { name: string } }).constructor.name.replace(
        /Command$/,
        'Command',
      );
      counter.set(name, (counter.get(name) ?? 0) + 1);
      if (command instanceof SendMessageBatchCommand) {
        const entries = command.input.Entries ?? [];
        return {
          Successful: entries.map((e, i) => ({ Id: e.Id, MessageId: `stub-${i}`, MD5OfMessageBody: '' })),
          Failed: [],
          $metadata: {},
        } as unknown as SendMessageBatchCommandOutput;
      }
      throw new Error(`stub SQS: unexpected ${name}`);
    },
  }) as unknown as SQSClient;

let requestNo = 0;
/** A fresh body (new mids) per request, so FIFO dedup never turns a send into a no-op. */
const freshEvent = (n: number): APIGatewayProxyEventV2 => {
  requestNo++;
  const body = batchedWebhookBody(usersBatch(n, requestNo * 1000, requestNo));
  return postEvent(body, { 'x-hub-signature-256': signatureOf(body, APP_SECRET) });
};

export const bench: Bench = {
  title: 'ingress: webhook handler latency and events/s for 1/10/100-event bodies; SQS calls per message',
  run: async () => {
    const sqsChild = await spawnHelper<SqsInfo>(
      new URL('../support/sqs-server.ts', import.meta.url).pathname,
    );
    const { makeHandler } = await import('../../functions/webhook.ts');
    const env = {
      ...sqsChild.info.env,
      META_APP_SECRET: APP_SECRET,
      META_VERIFY_TOKEN: 'bench-verify-token',
    };
    const backends = [
      {
        name: 'fauxqs (separate process)',
        counter: new Map() as Counter,
        client: undefined as SQSClient | undefined,
      },
      {
        name: 'in-process stub SQS',
        counter: new Map() as Counter,
        client: undefined as SQSClient | undefined,
      },
    ];
    backends[0]!.client = counted(localSqsClient(sqsChild.info.endpoint, 256), backends[0]!.counter);
    backends[1]!.client = stubSqs(backends[1]!.counter);
    const handlers = backends.map((b) => makeHandler(env, { sqs: b.client!, telemetry: discardTelemetry() }));
    const samples = new Map<string, { latency: number[]; rates: number[]; statuses: number[] }>();
    const key = (b: number, n: number) => `${b}:${n}`;
    for (let b = 0; b < backends.length; b++)
      for (const n of BATCHES) samples.set(key(b, n), { latency: [], rates: [], statuses: [] });
    const events = new Map<number, number>(BATCHES.map((n) => [n, 0]));
    try {
      // Warm-up: cold start (config, responder rules), JIT, sockets.
      for (const h of handlers) for (const n of BATCHES) await h(freshEvent(n));
      for (const b of backends) b.counter.clear();
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < backends.length; i++) {
          const b = (i + round) % backends.length;
          for (const n of BATCHES) {
            const s = samples.get(key(b, n))!;
            const bodies = Array.from({ length: PER_ROUND[n]! }, () => freshEvent(n));
            const started = performance.now();
            for (const event of bodies) {
              const t0 = performance.now();
              const response = await handlers[b]!(event);
              s.latency.push(performance.now() - t0);
              s.statuses.push(response.statusCode ?? 0);
            }
            s.rates.push((bodies.length * n * 1000) / (performance.now() - started));
            if (b === 0) events.set(n, events.get(n)! + bodies.length * n);
          }
        }
      }
    } finally {
      backends[0]!.client?.destroy();
      await sqsChild.stop();
    }
    const totalEvents = [...events.values()].reduce((a, v) => a + v, 0);
    const rows = [];
    for (let b = 0; b < backends.length; b++) {
      for (const n of BATCHES) {
        const s = samples.get(key(b, n))!;
        const lat = distribution(s.latency);
        const ok = s.statuses.filter((c) => c === 200).length;
        rows.push([
          backends[b]!.name,
          n,
          lat.p50,
          lat.p99,
          lat.p50 / n,
          distribution(s.rates).p50,
          `${ok}/${s.statuses.length}`,
        ] as const);
      }
    }
    const callsPerMessage = backends.map((b) => {
      const total = [...b.counter.values()].reduce((a, v) => a + v, 0);
      return [
        b.name,
        totalEvents,
        b.counter.get('SendMessageBatchCommand') ?? 0,
        total - (b.counter.get('SendMessageBatchCommand') ?? 0),
        total / totalEvents,
      ] as const;
    });
    return {
      tables: [
        {
          title: 'Ingress: webhook handler per POST (functions/webhook.ts, warm)',
          columns: [
            'SQS back end',
            'events/body',
            'p50 ms',
            'p99 ms',
            'p50 ms/event',
            'events/s (median round)',
            '200 OK',
          ],
          rows,
          notes: [
            `${ROUNDS} rounds, back ends alternating first; requests sequential within a round (one warm Lambda container); each event gets the default responder's reply, planned and enqueued.`,
          ],
        },
        {
          title: 'SQS calls per inbound message (counted by an SDK middleware / the stub)',
          columns: [
            'SQS back end',
            'inbound messages',
            'SendMessageBatch',
            'other SQS calls',
            'calls per message',
          ],
          rows: callsPerMessage,
          notes: [
            'Goal: 1 — the whole sequence of a message (seen, typing, replies) goes in ONE SendMessageBatch.',
          ],
        },
      ],
      data: Object.fromEntries(
        [...samples].map(([k, s]) => [
          k,
          { latencyMs: distribution(s.latency), eventsPerSec: distribution(s.rates) },
        ]),
      ),
    };
  },
};
