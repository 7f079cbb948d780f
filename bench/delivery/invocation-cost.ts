/**
 * CPU and wall time of one sender invocation, alone (one in flight, nothing else measured in this
 * process): the REAL handler (functions/sender.ts) with a real SQS client, both it and the Graph client
 * talking to the bench's HTTP stand-in in its own process (it answers 200 with a JSON body, which the
 * SDK accepts as a ChangeMessageVisibility answer). Two shapes: a sending invocation (the step is due) and
 * a deferring one (due in 5 s: one ChangeMessageVisibility).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { encodeStep } from '../../lib/queue/codec.ts';
import { PAGE_ID, psidOf } from '../../local/meta.ts';
import { spawnHelper } from '../support/spawn.ts';
import { BENCH_APP_SECRET, BENCH_PAGE_TOKEN, discardTelemetry } from '../support/stack.ts';
import { type Distribution, distribution } from '../support/stats.ts';

export type InvocationCost = { shape: 'send' | 'defer'; cpuMs: number; wall: Distribution };

const eventFor = (n: number, delayMs: number): SQSEvent => {
  const now = Date.now();
  const body = encodeStep({
    v: 1,
    pageId: PAGE_ID,
    psid: psidOf(n % 1000),
    sequenceId: `m_cost_${n}`,
    index: delayMs > 0 ? 1 : 0,
    count: 2,
    delayMs,
    plannedAt: now,
    dueAt: now + delayMs,
    action: delayMs > 0 ? { message: { text: 'hello' } } : { sender_action: 'mark_seen' },
  });
  const attributes = {
    ApproximateReceiveCount: '1',
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
  const sqs = new SQSClient({
    endpoint: origin,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const handler = makeHandler(
    {
      QUEUE_URL: 'http://127.0.0.1:9/000000000000/steps.fifo',
      GRAPH_API_URL: origin,
      META_APP_SECRET: BENCH_APP_SECRET,
      META_PAGE_ACCESS_TOKEN: BENCH_PAGE_TOKEN,
    },
    { sqs, telemetry: discardTelemetry() },
  );
  const shapes = [
    { shape: 'send' as const, delayMs: 0, cpu: 0, wall: [] as number[] },
    { shape: 'defer' as const, delayMs: 5000, cpu: 0, wall: [] as number[] },
  ];
  try {
    for (let n = 0; n < 50; n += 1) for (const s of shapes) await handler(eventFor(n, s.delayMs));
    for (let n = 0; n < rounds; n += 1) {
      for (const s of shapes) {
        const event = eventFor(n, s.delayMs);
        const cpu = process.cpuUsage();
        const started = performance.now();
        await handler(event);
        s.wall.push(performance.now() - started);
        const used = process.cpuUsage(cpu);
        s.cpu += (used.user + used.system) / 1000;
      }
    }
  } finally {
    sqs.destroy();
    await graph.stop();
  }
  return shapes.map((s) => ({ shape: s.shape, cpuMs: s.cpu / rounds, wall: distribution(s.wall) }));
};
