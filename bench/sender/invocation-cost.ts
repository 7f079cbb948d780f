/**
 * CPU and wall time of one sender invocation, alone (one in flight, nothing else measured in this
 * process): the REAL handler (functions/sender.ts) with a real SQS client, both it and the Graph client
 * talking to the bench's HTTP stand-in in its own process (it answers 200 with a JSON body, which the
 * SDK accepts as a ChangeMessageVisibility answer). Two shapes: a sending invocation (the step is due) and
 * a deferring one (due in 5 s: one ChangeMessageVisibility).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { encodeStep } from '../../lib/queue/codec.ts';
import { PAGE_ID, psidOf } from '../../local/meta.ts';
import { spawnHelper } from '../support/spawn.ts';
import { BENCH_APP_SECRET, BENCH_PAGE_TOKEN, discardTelemetry } from '../support/stack.ts';
import { type Distribution, distribution } from '../support/stats.ts';

export type InvocationShape = 'send' | 'defer' | 'send + sent-step record';
export type InvocationCost = { shape: InvocationShape; cpuMs: number; wall: Distribution };

export const eventFor = (n: number, delayMs: number, receiveCount = 1): SQSEvent => {
  const now = Date.now();
  const body = encodeStep({
    v: 1,
    pageId: PAGE_ID,
    psid: psidOf(n % 1000),
    sequenceId: `m_cost_${n}`,
    index: delayMs > 0 || receiveCount > 1 ? 1 : 0,
    count: 2,
    delayMs,
    plannedAt: now,
    dueAt: now + delayMs,
    action: delayMs > 0 || receiveCount > 1 ? { message: { text: 'hello' } } : { sender_action: 'mark_seen' },
  });
  const attributes = {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: String(now),
    ApproximateFirstReceiveTimestamp: String(now),
    MessageGroupId: `${PAGE_ID}:${psidOf(n % 1000)}`,
  };
  return {
    Records: [
      {
        messageId: `cost-${n}`,
        receiptHandle: `rh-${n}`,
        body,
        attributes,
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:steps.fifo',
        awsRegion: 'us-east-1',
      },
    ] as unknown as SQSEvent['Records'],
  };
};

/** Measures `rounds` invocations of each shape, interleaved, after a warm-up. */
export const measureInvocationCost = async (rounds = 400): Promise<InvocationCost[]> => {
  const graph = await spawnHelper<{ port: number }>(
    new URL('../support/child-server.ts', import.meta.url).pathname,
  );
  const { makeHandler } = await import('../../functions/sender.ts');
  const origin = `http://127.0.0.1:${graph.info.port}`;
  const local = { region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const sqs = new SQSClient({ ...local, endpoint: origin });
  const env = {
    QUEUE_URL: 'http://127.0.0.1:9/000000000000/steps.fifo',
    GRAPH_API_URL: origin,
    META_APP_SECRET: BENCH_APP_SECRET,
    META_PAGE_ACCESS_TOKEN: BENCH_PAGE_TOKEN,
  };
  const handler = makeHandler(env, { sqs, telemetry: discardTelemetry() });
  // The state table's DynamoDB client against the same stand-in: its answers parse as "no item" / "written".
  const dynamo = new DynamoDBClient({ ...local, endpoint: origin });
  const withLedger = makeHandler(
    { ...env, STATE_TABLE_NAME: 'bench-state' },
    { sqs, dynamo, telemetry: discardTelemetry() },
  );
  const shapes = [
    { shape: 'send' as InvocationShape, run: handler, delayMs: 0, receives: 1, cpu: 0, wall: [] as number[] },
    {
      shape: 'defer' as InvocationShape,
      run: handler,
      delayMs: 5000,
      receives: 1,
      cpu: 0,
      wall: [] as number[],
    },
    // A redelivered message: the sent-step read before, the write after the Graph call (and the abort read).
    {
      shape: 'send + sent-step record' as InvocationShape,
      run: withLedger,
      delayMs: 0,
      receives: 2,
      cpu: 0,
      wall: [] as number[],
    },
  ];
  try {
    for (let n = 0; n < 50; n += 1) for (const s of shapes) await s.run(eventFor(n, s.delayMs, s.receives));
    for (let n = 0; n < rounds; n += 1) {
      for (const s of shapes) {
        const event = eventFor(n, s.delayMs, s.receives);
        const cpu = process.cpuUsage();
        const started = performance.now();
        await s.run(event);
        s.wall.push(performance.now() - started);
        const used = process.cpuUsage(cpu);
        s.cpu += (used.user + used.system) / 1000;
      }
    }
  } finally {
    sqs.destroy();
    dynamo.destroy();
    await graph.stop();
  }
  return shapes.map((s) => ({ shape: s.shape, cpuMs: s.cpu / rounds, wall: distribution(s.wall) }));
};
