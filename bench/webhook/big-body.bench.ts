/**
 * A Meta body of 1,000 events (1,000 users, one message each) through the REAL webhook handler
 * (functions/webhook.ts makeHandler) against fauxqs in its own process: time to acknowledge, and the SQS
 * calls per queue. Two ways of enqueueing, alternated round by round: one event at a time (each prelude
 * its own SendMessageBatch, each event its own SendMessage — the webhook before lib/webhook/batched-enqueue.ts)
 * and batched across events (lib/queue/batch-producer.ts). The SQS client keeps the SDK's default 50 sockets,
 * as a Lambda's would.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SQSClient as Client } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { batchedWebhookBody, postEvent, signatureOf, usersBatch } from '../../local/meta.ts';
import { createResponderQueues, LOCAL_CREDENTIALS } from '../../local/sqs.ts';
import type { Bench } from '../support/report.ts';
import { spawnHelper } from '../support/spawn.ts';
import { discardTelemetry, type SqsInfo } from '../support/stack.ts';
import { distribution } from '../support/stats.ts';

const APP_SECRET = 'bench-big-body-secret-5c1d';
const EVENTS = 1000;
const ROUNDS = 4;

type Calls = Map<string, number>;

/** Counts each SQS command per queue URL (an SDK middleware: measured, not assumed). */
const counting = (client: SQSClient, calls: Calls): SQSClient => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { QueueUrl?: string };
      const queue = (input.QueueUrl ?? '').split('/').pop() ?? '';
      const key = `${context.commandName} ${queue}`;
      calls.set(key, (calls.get(key) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCallsPerQueue' },
  );
  return client;
};

let requestNo = 0;
const freshBody = (): APIGatewayProxyEventV2 => {
  requestNo++;
  const body = batchedWebhookBody(usersBatch(EVENTS, requestNo * 10_000, requestNo));
  return postEvent(body, { 'x-hub-signature-256': signatureOf(body, APP_SECRET) });
};

export const bench: Bench = {
  title: `webhook: a ${EVENTS}-event body, one event at a time vs batched across events (ack time, SQS calls)`,
  run: async () => {
    const sqsChild = await spawnHelper<SqsInfo>(
      new URL('../support/sqs-server.ts', import.meta.url).pathname,
    );
    const { endpoint, region } = sqsChild.info;
    const admin = new Client({ endpoint, region, credentials: LOCAL_CREDENTIALS });
    const responder = await createResponderQueues(admin);
    const { makeHandler } = await import('../../functions/webhook.ts');
    const { enqueueSequence } = await import('../../lib/queue/producer.ts');
    const { enqueueInbound } = await import('../../lib/queue/inbound-producer.ts');
    const env = {
      ...sqsChild.info.env,
      RESPONDER_QUEUE_URL: responder.url,
      META_APP_SECRET: APP_SECRET,
      META_VERIFY_TOKEN: 'bench-verify-token',
    };
    const variants = ['one event at a time', 'batched across events'].map((name) => ({
      name,
      calls: new Map() as Calls,
      ack: [] as number[],
      statuses: [] as number[],
    }));
    const clients = variants.map((v) =>
      counting(new Client({ endpoint, region, credentials: LOCAL_CREDENTIALS }), v.calls),
    );
    const telemetry = discardTelemetry();
    const deps = (sqs: SQSClient) => ({ sqs, queueUrl: sqsChild.info.queueUrl, telemetry });
    const handlers = [
      makeHandler(env, {
        sqs: clients[0]!,
        telemetry,
        enqueue: (seq) => enqueueSequence(deps(clients[0]!), seq),
        enqueueInbound: (inbound) =>
          enqueueInbound({ ...deps(clients[0]!), queueUrl: responder.url }, inbound),
      }),
      makeHandler(env, { sqs: clients[1]!, telemetry }),
    ];
    try {
      for (const h of handlers) await h(freshBody());
      for (const v of variants) v.calls.clear();
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < variants.length; i++) {
          const k = (i + round) % variants.length;
          const event = freshBody();
          const t0 = performance.now();
          const res = await handlers[k]!(event);
          variants[k]!.ack.push(performance.now() - t0);
          variants[k]!.statuses.push(res.statusCode ?? 0);
        }
      }
    } finally {
      for (const c of [...clients, admin]) c.destroy();
      await sqsChild.stop();
    }
    const rows = variants.map((v) => {
      const ack = distribution(v.ack);
      const per = (prefix: string) =>
        [...v.calls].filter(([k]) => k.startsWith(prefix)).reduce((n, [, c]) => n + c, 0) / ROUNDS;
      return [
        v.name,
        ack.p50,
        Math.max(...v.ack),
        per('SendMessageBatchCommand ellipsis-steps'),
        per('SendMessageBatchCommand ellipsis-responder') + per('SendMessageCommand ellipsis-responder'),
        `${v.statuses.filter((s) => s === 200).length}/${v.statuses.length}`,
      ] as const;
    });
    return {
      tables: [
        {
          title: `Webhook: one signed body of ${EVENTS} events (${EVENTS} users), warm handler, fauxqs in its own process`,
          columns: [
            'enqueue',
            'ack p50 ms',
            'ack max ms',
            'SQS calls, steps queue',
            'SQS calls, responder queue',
            '200 OK',
          ],
          rows,
          notes: [
            `${ROUNDS} bodies per variant, alternating first. Floor for batched: ceil(entries / 10) per queue (each prelude is 2–3 steps, each event 1 entry).`,
          ],
        },
      ],
      data: Object.fromEntries(
        variants.map((v) => [v.name, { ackMs: distribution(v.ack), calls: Object.fromEntries(v.calls) }]),
      ),
    };
  },
};
