/**
 * Fault injection at the sender, on the local stack: fauxqs FIFO (real visibility timeouts and redrive),
 * the Lambda-like poller (local/esm.ts), the REAL sender handler (functions/sender.ts) and the
 * scriptable Graph fake (local/graph-fake.ts).
 *
 * Faults: Graph 5xx, 429, 613 (rate limit), timeouts, connection resets, token expiry (190), an
 * unreachable person (551), a sender crash mid-batch, an exhausted retry budget and a poison body.
 * Invariants after each run: no step lost; duplicates only inside the documented at-least-once window
 * (a call Graph received whose answer never arrived — timeout — or a batch whose function crashed);
 * per-user order of first deliveries kept; permanent errors never retried; every DLQ message explained.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/sender.ts';
import { enqueueSequence } from '../../lib/queue/producer.ts';
import type { Step } from '../../lib/queue/step.ts';
import { type EventSourceMapping, type SqsHandler, startEventSourceMapping } from '../../local/esm.ts';
import { type Fault, type GraphFake, graphErrors, startGraphFake } from '../../local/graph-fake.ts';
import { type LocalSqs, startLocalSqs } from '../../local/sqs.ts';
import { memoryTelemetry, metricTotal } from '../support/telemetry.ts';
import { until, untilIdle } from '../support/wait.ts';

const PAGE = '104729348572910';
const APP_SECRET = 'reliability-app-secret-0b5e';
const TOKEN = 'EAAReliabilityPageToken0123456789';
// Generous, so only the injected delay times out even on a loaded 2-core CI machine.
const GRAPH_TIMEOUT_MS = 1500;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Rig = {
  sqs: LocalSqs;
  graph: GraphFake;
  telemetry: ReturnType<typeof memoryTelemetry>;
  /** Starts the poller (after the queue was filled, when a test needs full batches). */
  start: () => void;
  /** The queue empty and no batch running (false before `start`): nothing more will reach Graph. */
  idle: () => Promise<boolean>;
};

const startRig = async (
  options: { batchSize?: number; maxReceiveCount?: number; wrap?: (h: SqsHandler) => SqsHandler } = {},
): Promise<Rig> => {
  const maxReceiveCount = options.maxReceiveCount ?? 20;
  const sqs = await startLocalSqs({ visibilityTimeoutSeconds: 2, maxReceiveCount });
  cleanups.push(sqs.stop);
  const graph = await startGraphFake({ appSecret: APP_SECRET, accessToken: TOKEN });
  cleanups.push(graph.stop);
  const telemetry = memoryTelemetry();
  const sender = makeHandler(
    {
      ...sqs.env,
      GRAPH_API_URL: graph.url,
      META_APP_SECRET: APP_SECRET,
      META_PAGE_ACCESS_TOKEN: TOKEN,
      GRAPH_TIMEOUT_MS: String(GRAPH_TIMEOUT_MS),
      RETRY_BASE_SECONDS: '1',
      RETRY_MAX_SECONDS: '2',
      QUEUE_MAX_RECEIVE_COUNT: String(maxReceiveCount),
      // Per-step fault handling is what this suite checks. With budgets on, one injected 613 marks the
      // whole Page full for a second and sheds every user's typing in it, as real Graph's per-Page limit
      // means: test/unit/sender/budget-gate.test.ts and the hot-page bench cover that path.
      SENDER_CALL_BUDGET: 'off',
    },
    { sqs: sqs.client, telemetry },
  );
  const handler: SqsHandler = (event) => sender(event as SQSEvent);
  let esm: EventSourceMapping | undefined;
  const start = () => {
    esm = startEventSourceMapping({
      client: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      region: sqs.region,
      handler: options.wrap ? options.wrap(handler) : handler,
      batchSize: options.batchSize ?? 1,
      maxConcurrency: 4,
      functionTimeoutMs: 15_000,
      waitTimeSeconds: 1,
    });
    cleanups.push(esm.stop);
  };
  const idle = async () => (esm ? esm.idle() : false);
  return { sqs, graph, telemetry, start, idle };
};

/** A conversation per user: seen, typing, message 1, typing, message 2 (short pauses, slept in the handler). */
const stepsFor = (psid: string): Step[] => [
  { action: { sender_action: 'mark_seen' }, delayMs: 0 },
  { action: { sender_action: 'typing_on' }, delayMs: 50 },
  { action: { message: { text: `${psid} one` } }, delayMs: 120 },
  { action: { sender_action: 'typing_on' }, delayMs: 50 },
  { action: { message: { text: `${psid} two` } }, delayMs: 120 },
];
const labelOf = (step: Step) =>
  'message' in step.action ? `message:${step.action.message.text}` : step.action.sender_action;

const enqueue = (rig: Rig, psid: string, steps = stepsFor(psid)) =>
  enqueueSequence(
    { sqs: rig.sqs.client, queueUrl: rig.sqs.queueUrl },
    { pageId: PAGE, psid, sequenceId: `m_rel_${psid}`, steps, plannedAt: Date.now() },
  );

/** Labels of what Graph accepted for one user (status 200), in arrival order. */
/** What Graph accepted for the user, in arrival order (a late answer is recorded late, but arrived first). */
const delivered = (graph: GraphFake, psid: string): string[] =>
  graph
    .callsFor(psid)
    .toSorted((a, b) => a.at - b.at)
    .map((c) =>
      c.action && 'message' in c.action ? `message:${c.action.message.text}` : (c.kind ?? 'unknown'),
    );

/** First deliveries in order, and how many calls repeated an already delivered step. */
const firstDeliveries = (labels: readonly string[], planned: readonly string[]) => {
  // Steps repeat labels (two typing_on): walk the plan, matching each delivery to the next planned step,
  // or, when it matches only an earlier one, counting it as a duplicate.
  let next = 0;
  let duplicates = 0;
  const order: string[] = [];
  for (const label of labels) {
    if (next < planned.length && planned[next] === label) {
      order.push(label);
      next++;
    } else if (planned.slice(0, next).includes(label)) duplicates++;
    else order.push(`unexpected:${label}`);
  }
  return { order, duplicates };
};

const drain = async (rig: Rig, queueUrl: string) => {
  const out: { body: string; attributes: Record<string, string | undefined> }[] = [];
  for (let empty = 0; empty < 2; ) {
    const r = await rig.sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = r.Messages ?? [];
    if (messages.length === 0) {
      empty++;
      continue;
    }
    for (const m of messages) {
      out.push({
        body: m.Body ?? '',
        attributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]),
        ),
      });
      await rig.sqs.client.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
  return out;
};

const rateLimit: Fault = {
  status: 400,
  body: {
    error: {
      message: '(#613) Calls to this api have exceeded the rate limit.',
      type: 'OAuthException',
      code: 613,
      fbtrace_id: 'Rel',
    },
  },
};
const tooMany: Fault = { status: 429, body: { error: { message: 'Too many requests', fbtrace_id: 'Rel' } } };
const tokenExpired: Fault = {
  status: 400,
  body: {
    error: {
      message: 'Error validating access token: Session has expired on Friday.',
      type: 'OAuthException',
      code: 190,
      error_subcode: 463,
      fbtrace_id: 'Rel',
    },
  },
};
const timeout: Fault = { delayMs: GRAPH_TIMEOUT_MS + 500 };
const reset: Fault = { drop: true };

describe('sender under Graph faults (local stack)', () => {
  it('delivers every step in order through 5xx, 429, 613, timeouts and resets; never sends a message twice', async () => {
    const rig = await startRig();
    rig.start();
    const faults: Record<string, { step: 'mark_seen' | 'typing_on' | 'message'; faults: Fault[] }> = {
      u5xx: { step: 'message', faults: [graphErrors.transient, graphErrors.transient] },
      u429: { step: 'typing_on', faults: [tooMany] },
      u613: { step: 'message', faults: [rateLimit] },
      u1200: { step: 'mark_seen', faults: [graphErrors.temporarySendFailure] },
      uTimeout: { step: 'message', faults: [timeout] },
      uReset: { step: 'typing_on', faults: [reset, reset] },
      uResetMessage: { step: 'message', faults: [reset] },
      uClean: { step: 'message', faults: [] },
    };
    for (const [psid, f] of Object.entries(faults))
      if (f.faults.length) rig.graph.inject({ psid, kind: f.step }, ...f.faults);
    await Promise.all(Object.keys(faults).map((psid) => enqueue(rig, psid)));
    const psids = Object.keys(faults);
    await until(() =>
      psids.every((p) => delivered(rig.graph, p).filter((l) => l === `message:${p} two`).length >= 1),
    );
    await untilIdle(rig.idle); // late duplicates, if any, have arrived by now: nothing is queued or running

    for (const psid of psids) {
      const planned = stepsFor(psid).map(labelOf);
      // A message that got no answer is not retried (it may have reached Meta): the timed-out one did (Graph
      // recorded it), the reset one did not, and is the reply this policy loses — counted, never doubled.
      const expected =
        psid === 'uResetMessage' ? planned.filter((l) => l !== `message:${psid} one`) : planned;
      const { order, duplicates } = firstDeliveries(delivered(rig.graph, psid), expected);
      expect(order, psid).toEqual(expected); // nothing else lost, nothing out of order
      expect(duplicates, psid).toBe(0);
    }
    expect(metricTotal(rig.telemetry.metrics, 'StepsOutcomeUnknown', { action: 'message' })).toBe(2);
    expect(metricTotal(rig.telemetry.metrics, 'StepsRetried')).toBeGreaterThanOrEqual(7);
    expect(metricTotal(rig.telemetry.metrics, 'StepsFailed')).toBe(0);
    expect(await drain(rig, rig.sqs.dlqUrl)).toEqual([]);
    expect(await drain(rig, rig.sqs.queueUrl)).toEqual([]);
  }, 60_000);

  it('never retries a permanent error (expired token, unreachable person): one call, the rest of that sequence dropped', async () => {
    const rig = await startRig();
    rig.start();
    rig.graph.inject({ psid: 'uToken', kind: 'message' }, tokenExpired);
    rig.graph.inject({ psid: 'uGone', kind: 'typing_on' }, graphErrors.personUnavailable);
    await Promise.all(['uToken', 'uGone', 'uOk'].map((psid) => enqueue(rig, psid)));
    await until(() => delivered(rig.graph, 'uOk').includes('message:uOk two'));
    await until(() => metricTotal(rig.telemetry.metrics, 'StepsFailed') === 2);
    await untilIdle(rig.idle); // a retry would still be queued (invisible for its backoff): none is

    const failedCalls = (psid: string) => rig.graph.calls.filter((c) => c.psid === psid && c.status !== 200);
    expect(failedCalls('uToken')).toHaveLength(1);
    expect(failedCalls('uGone')).toHaveLength(1);
    // Everything before the failure went out once, nothing after it.
    expect(delivered(rig.graph, 'uToken')).toEqual(['mark_seen', 'typing_on']);
    expect(delivered(rig.graph, 'uGone')).toEqual(['mark_seen']);
    expect(delivered(rig.graph, 'uOk')).toEqual(stepsFor('uOk').map(labelOf));
    expect(metricTotal(rig.telemetry.metrics, 'PageTokenInvalid')).toBe(1);
    expect(metricTotal(rig.telemetry.metrics, 'RecipientUnreachable')).toBe(1);
    expect(metricTotal(rig.telemetry.metrics, 'StepsRetried')).toBe(0);
    expect(await drain(rig, rig.sqs.dlqUrl)).toEqual([]);
  }, 60_000);

  it('survives a sender crash mid-batch: nothing lost, order kept, repeats only from the crashed batch', async () => {
    let crashes = 1;
    const crashedSteps: string[] = [];
    const rig = await startRig({
      batchSize: 10,
      // The function dies after handling the first half of its first batch: Lambda deletes nothing and the
      // whole batch comes back after the visibility timeout (AWS Lambda Developer Guide, SQS error handling).
      wrap: (handler) => async (event, context) => {
        if (crashes > 0 && event.Records.length >= 2) {
          crashes--;
          const half = event.Records.slice(0, Math.ceil(event.Records.length / 2));
          await handler({ Records: half }, context);
          for (const r of half) crashedSteps.push(r.body);
          throw new Error('simulated crash');
        }
        return handler(event, context);
      },
    });
    const psids = ['c1', 'c2', 'c3'];
    for (const psid of psids) await enqueue(rig, psid);
    rig.start();
    await until(() => psids.every((p) => delivered(rig.graph, p).includes(`message:${p} two`)));
    await untilIdle(rig.idle); // the crashed batch came back and was sent again
    expect(crashes).toBe(0);
    expect(crashedSteps.length).toBeGreaterThan(1);
    let repeats = 0;
    for (const psid of psids) {
      const { order, duplicates } = firstDeliveries(delivered(rig.graph, psid), stepsFor(psid).map(labelOf));
      expect(order, psid).toEqual(stepsFor(psid).map(labelOf));
      repeats += duplicates;
    }
    // Each repeat is a step the crashed invocation had already sent.
    expect(repeats).toBeLessThanOrEqual(crashedSteps.length);
    expect(await drain(rig, rig.sqs.dlqUrl)).toEqual([]);
  }, 60_000);

  it('dead-letters only what it must, each with its reason: an exhausted retry budget and a poison body', async () => {
    const rig = await startRig({ maxReceiveCount: 4 });
    rig.start();
    rig.graph.inject(
      { psid: 'uDown', kind: 'message' },
      ...Array.from({ length: 10 }, () => graphErrors.transient),
    );
    await enqueue(rig, 'uDown');
    await enqueue(rig, 'uFine');
    await rig.sqs.client.send(
      new SendMessageCommand({
        QueueUrl: rig.sqs.queueUrl,
        MessageBody: '{"v":1,"not":"a step"}',
        MessageGroupId: `${PAGE}:poison`,
        MessageDeduplicationId: 'poison-1',
      }),
    );
    await until(
      () =>
        metricTotal(rig.telemetry.metrics, 'StepsGivenUp') === 1 &&
        metricTotal(rig.telemetry.metrics, 'PoisonMessages') === 1,
    );
    await until(() => delivered(rig.graph, 'uFine').includes('message:uFine two'));
    await untilIdle(rig.idle);

    const dlq = await drain(rig, rig.sqs.dlqUrl);
    const reasons = dlq.map((m) => m.attributes.EllipsisReason ?? '(no reason)').sort();
    expect(reasons).toHaveLength(2);
    expect(reasons.some((r) => r.startsWith('retry budget exhausted'))).toBe(true);
    expect(reasons.some((r) => /sequenceId|index|pageId|psid|Invalid|expected/i.test(r))).toBe(true);
    // The failing message was tried once per receive allowed (4), no more; the rest of its sequence dropped.
    expect(rig.graph.calls.filter((c) => c.psid === 'uDown' && c.status !== 200)).toHaveLength(4);
    // After giving up on a message the typing bubble is cleared (typing_off), nothing else.
    expect(delivered(rig.graph, 'uDown')).toEqual(['mark_seen', 'typing_on', 'typing_off']);
    expect(delivered(rig.graph, 'uFine')).toEqual(stepsFor('uFine').map(labelOf));
    expect(await drain(rig, rig.sqs.queueUrl)).toEqual([]);
  }, 60_000);
});
