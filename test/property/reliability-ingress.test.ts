/**
 * Fault injection at ingress: the REAL webhook handler (functions/webhook.ts) enqueuing on fauxqs
 * (local/sqs.ts) through an SQS client whose middleware throttles or partially fails
 * SendMessageBatch, above the SDK's own retries (as if they were exhausted). Meta re-delivers every POST
 * not answered 200, so a 500 is followed by the same body again.
 *
 * Invariants, read back from the queue: every step of every sequence is on the queue exactly once, in
 * step order within the user's group — except where a LATER entry of a batch was accepted before an
 * EARLIER one failed, which the producer cannot repair and reports (EnqueueOutOfOrder; lib/queue/producer.ts).
 */
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/webhook.ts';
import { decodeStep, type QueuedStep } from '../../lib/queue/codec.ts';
import { batchedWebhookBody, postEvent, signatureOf, usersBatch } from '../../local/meta.ts';
import {
  createResponderQueues,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalSqs,
  startLocalSqs,
} from '../../local/sqs.ts';
import { memoryTelemetry, metricTotal } from '../support/telemetry.ts';

const APP_SECRET = 'ingress-reliability-secret-91c2';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** What the next SendMessageBatch calls do: pass, throttle, or accept only some entries. */
type Plan =
  | { kind: 'pass' }
  | { kind: 'throttle' }
  | { kind: 'server-error' }
  /** Entries at these positions fail (InternalError, not a sender fault); the rest go through. */
  | { kind: 'fail-entries'; positions: number[] };

const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
const serverError = () =>
  Object.assign(new Error('Internal error'), {
    name: 'InternalError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });

/** A client to fauxqs whose SendMessageBatch follows `plans` (one per call, then passes). */
const faultyClient = (sqs: LocalSqs, plans: Plan[]) => {
  const client = new SQSClient({
    endpoint: sqs.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'SendMessageBatchCommand') return next(args);
      const plan = plans.shift() ?? { kind: 'pass' };
      if (plan.kind === 'throttle') throw throttled();
      if (plan.kind === 'server-error') throw serverError();
      if (plan.kind === 'pass') return next(args);
      const input = args.input as { Entries: SendMessageBatchRequestEntry[] };
      const failing = input.Entries.filter((_, i) => plan.positions.includes(i));
      const passing = input.Entries.filter((_, i) => !plan.positions.includes(i));
      const out =
        passing.length > 0
          ? await next({ ...args, input: { ...input, Entries: passing } } as typeof args)
          : undefined;
      const output = (out?.output ?? { Successful: [], $metadata: {} }) as SendMessageBatchCommandOutput;
      return {
        ...(out ?? { response: {} }),
        output: {
          ...output,
          Failed: [
            ...(output.Failed ?? []),
            ...failing.map((e) => ({
              Id: e.Id,
              SenderFault: false,
              Code: 'InternalError',
              Message: 'injected',
            })),
          ],
        },
      };
    },
    { step: 'initialize', name: 'injectFaults' },
  );
  cleanups.push(async () => client.destroy());
  return client;
};

const drainSteps = async (sqs: LocalSqs): Promise<QueuedStep[]> => {
  const steps: QueuedStep[] = [];
  for (let empty = 0; empty < 2; ) {
    const r = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    const messages = r.Messages ?? [];
    if (messages.length === 0) empty++;
    for (const m of messages) {
      const d = decodeStep(m.Body ?? '');
      if (!d.ok) throw new Error(`undecodable step on the queue: ${d.reason}`);
      steps.push(d.step);
      await sqs.client.send(
        new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
  return steps;
};

/** Per sequence: indexes as they came off the FIFO queue. */
const bySequence = (steps: readonly QueuedStep[]) => {
  const out = new Map<string, { count: number; indexes: number[] }>();
  for (const s of steps) {
    const entry = out.get(s.sequenceId) ?? { count: s.count, indexes: [] };
    entry.indexes.push(s.index);
    out.set(s.sequenceId, entry);
  }
  return out;
};

const setup = async (plans: Plan[]) => {
  const sqs = await startLocalSqs();
  cleanups.push(sqs.stop);
  const responderQueue = await createResponderQueues(sqs.client);
  const telemetry = memoryTelemetry();
  const handler = makeHandler(
    {
      ...sqs.env,
      RESPONDER_QUEUE_URL: responderQueue.url,
      META_APP_SECRET: APP_SECRET,
      META_VERIFY_TOKEN: 'ingress-verify',
      PLAN_TIME_SCALE: '0.01',
    },
    { sqs: faultyClient(sqs, plans), telemetry, sleep: async () => {} },
  );
  /** POSTs like Meta: signed, and re-delivered (up to `attempts` times) until answered 200. */
  const deliver = async (body: Buffer, attempts = 5) => {
    const signature = signatureOf(body, APP_SECRET);
    const statuses: number[] = [];
    for (let i = 0; i < attempts; i++) {
      const res = await handler(postEvent(body, { 'x-hub-signature-256': signature }));
      statuses.push(res.statusCode ?? 0);
      if (res.statusCode === 200) break;
    }
    return statuses;
  };
  return { sqs, telemetry, deliver };
};

describe('ingress under SQS faults (webhook → fauxqs)', () => {
  it('absorbs throttling and 5xx: Meta re-delivery after a 500 leaves every step exactly once, in order', async () => {
    // The 5 users' preludes go out in one SendMessageBatch (ten entries): its 4 attempts fail on the first POST
    // (→ 500, Meta re-delivers); on the re-delivery a throttle and a 5xx are retried and everything lands.
    const { sqs, telemetry, deliver } = await setup([
      ...Array.from(
        { length: 4 },
        (_, i): Plan => (i % 3 === 0 ? { kind: 'server-error' } : { kind: 'throttle' }),
      ),
      { kind: 'throttle' },
      { kind: 'server-error' },
    ]);
    const statuses = await deliver(batchedWebhookBody(usersBatch(5)));
    expect(statuses[0]).toBe(500);
    expect(statuses[statuses.length - 1]).toBe(200);
    expect(metricTotal(telemetry.metrics, 'EnqueueRetries')).toBeGreaterThan(0);
    const sequences = bySequence(await drainSteps(sqs));
    expect(sequences.size).toBe(5);
    for (const [, s] of sequences) expect(s.indexes).toEqual(Array.from({ length: s.count }, (_, i) => i));
  }, 30_000);

  it('retries a failed tail of a SendMessageBatch without duplicating or reordering (property, 25 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 6 }),
        async (cuts, users) => {
          // Each failing call accepts entries before `cut` and fails the rest (the usual shape of a partial failure).
          const { sqs, deliver } = await setup(
            cuts.map((cut) => ({
              kind: 'fail-entries',
              positions: Array.from({ length: 10 }, (_, i) => i).filter((i) => i >= cut),
            })),
          );
          const statuses = await deliver(batchedWebhookBody(usersBatch(users)));
          expect(statuses[statuses.length - 1]).toBe(200);
          const sequences = bySequence(await drainSteps(sqs));
          expect(sequences.size).toBe(users);
          for (const [, s] of sequences)
            expect(s.indexes).toEqual(Array.from({ length: s.count }, (_, i) => i));
          for (const c of cleanups.splice(0).reverse()) await c();
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);

  it('reports (EnqueueOutOfOrder) the one shape it cannot repair — an earlier entry failing after a later one was accepted — and still loses and duplicates nothing', async () => {
    const { sqs, telemetry, deliver } = await setup([{ kind: 'fail-entries', positions: [0] }]);
    expect(await deliver(batchedWebhookBody(usersBatch(1)))).toEqual([200]);
    expect(metricTotal(telemetry.metrics, 'EnqueueOutOfOrder')).toBeGreaterThan(0);
    const sequences = bySequence(await drainSteps(sqs));
    const [only] = [...sequences.values()];
    expect(only).toBeDefined();
    expect([...only!.indexes].sort((a, b) => a - b)).toEqual(
      Array.from({ length: only!.count }, (_, i) => i),
    );
  }, 30_000);

  it('treats a re-delivery of an already enqueued body as a no-op (answered-events ledger)', async () => {
    const { sqs, telemetry, deliver } = await setup([]);
    const body = batchedWebhookBody(usersBatch(3));
    expect(await deliver(body)).toEqual([200]);
    // Meta re-delivers the same body (e.g. our 200 was lost): the ledger drops every event before SQS is asked
    // (the deterministic dedup ids would also catch it, but only within 5 minutes).
    expect(await deliver(body)).toEqual([200]);
    expect(metricTotal(telemetry.metrics, 'DuplicateEventsDropped')).toBe(3);
    const sequences = bySequence(await drainSteps(sqs));
    expect(sequences.size).toBe(3);
    for (const [, s] of sequences) expect(s.indexes).toEqual(Array.from({ length: s.count }, (_, i) => i));
  }, 30_000);
});
