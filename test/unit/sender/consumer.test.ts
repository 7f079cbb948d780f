import {
  ChangeMessageVisibilityCommand,
  type ChangeMessageVisibilityCommandInput,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { GraphSendResult, SendActionRequest } from '../../../lib/meta/graph/client.ts';
import type { GraphFailure } from '../../../lib/meta/graph/errors.ts';
import type { UsageReading } from '../../../lib/meta/graph/usage.ts';
import { abortKey, type Ledger, memoryLedger } from '../../../lib/platform/ledger.ts';
import { userLabel } from '../../../lib/platform/telemetry.ts';
import { encodeStep, groupIdOf, type QueuedStep } from '../../../lib/queue/codec.ts';
import type { QueueRecord } from '../../../lib/queue/consumer/record.ts';
import type { Action } from '../../../lib/queue/step.ts';
import { type ConsumerDeps, processBatch, stepGroupOf } from '../../../lib/sender/consumer.ts';
import type { SenderTuning } from '../../../lib/sender/schedule.ts';
import { sentKey } from '../../../lib/sender/sent-steps.ts';
import { queuedStep, senderTuning } from '../../support/factories.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const T0 = 1_700_000_000_000;
const QUEUE_URL = 'http://127.0.0.1:1/000000000000/steps.fifo';
const DLQ_URL = 'http://127.0.0.1:1/000000000000/steps-dlq.fifo';
const PAGE = '104857600000001';
const USER = '6789012345678901';
const GRAPH_LATENCY_MS = 80;

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

/** A fake clock; `sleep` advances it and records what was slept. */
const fakeClock = (start = T0) => {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    set: (at: number) => {
      t = at;
    },
    advance: (ms: number) => {
      t += ms;
    },
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
};
type Clock = ReturnType<typeof fakeClock>;

type Answer = Partial<GraphFailure> | 'ok' | 'throw';
type GraphCall = SendActionRequest & { at: number };

/** A fake Graph: every call costs GRAPH_LATENCY_MS on the fake clock; `answer` scripts failures. */
const fakeGraph = (clock: Clock, answer: (request: SendActionRequest) => Answer = () => 'ok') => {
  const calls: GraphCall[] = [];
  let usage: UsageReading | undefined;
  return {
    calls,
    setUsage: (reading: UsageReading | undefined) => {
      usage = reading;
    },
    usage: () => usage,
    sendAction: async (request: SendActionRequest): Promise<GraphSendResult> => {
      calls.push({ ...request, at: clock.now() });
      clock.advance(GRAPH_LATENCY_MS);
      const a = answer(request);
      if (a === 'throw') throw new Error('boom');
      if (a === 'ok') return { ok: true, latencyMs: GRAPH_LATENCY_MS };
      return {
        ok: false,
        kind: 'permanent',
        status: 400,
        reason: 'failed',
        ...a,
        latencyMs: GRAPH_LATENCY_MS,
      };
    },
  };
};

const typingOn: Action = { sender_action: 'typing_on' };
const seen: Action = { sender_action: 'mark_seen' };
const text = (t: string): Action => ({ message: { text: t } });

const step = (over: Partial<QueuedStep> & Pick<QueuedStep, 'index' | 'action'>): QueuedStep =>
  queuedStep({
    pageId: PAGE,
    psid: USER,
    sequenceId: 'm_seq1',
    count: 10,
    plannedAt: T0,
    dueAt: T0,
    ...over,
  });

let nextId = 0;
const record = (
  body: QueuedStep | string,
  attrs: { receiveCount?: number; firstReceiveAt?: number; group?: string; id?: string } = {},
): QueueRecord => {
  nextId += 1;
  const id = attrs.id ?? `msg-${nextId}`;
  const group =
    attrs.group ?? (typeof body === 'string' ? groupIdOf(PAGE, USER) : groupIdOf(body.pageId, body.psid));
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: typeof body === 'string' ? body : encodeStep(body),
    attributes: {
      ApproximateReceiveCount: String(attrs.receiveCount ?? 1),
      ApproximateFirstReceiveTimestamp: String(attrs.firstReceiveAt ?? T0),
      SentTimestamp: String(T0 - 100),
      MessageGroupId: group,
    },
  };
};

const setup = (
  options: {
    answer?: (request: SendActionRequest) => Answer;
    dlqUrl?: string;
    ledger?: Ledger;
    tuning?: Partial<SenderTuning>;
    random?: () => number;
  } = {},
) => {
  const clock = fakeClock();
  const graph = fakeGraph(clock, options.answer);
  const telemetry = memoryTelemetry();
  const ledger = options.ledger ?? memoryLedger({ now: clock.now });
  const deps: ConsumerDeps = {
    graph,
    sqs,
    queueUrl: QUEUE_URL,
    ...(options.dlqUrl && { dlqUrl: options.dlqUrl }),
    ledger,
    now: clock.now,
    sleep: clock.sleep,
    telemetry,
    tuning: { ...senderTuning, ...options.tuning },
    random: options.random ?? (() => 1),
  };
  return { clock, graph, telemetry, ledger, deps };
};

const visibilityCalls = (): ChangeMessageVisibilityCommandInput[] =>
  sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);
const kinds = (calls: GraphCall[]) =>
  calls.map((c) => ('message' in c.action ? 'message' : c.action.sender_action));

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
});

describe('processBatch: timing', () => {
  it('sends a due step at once and deletes it (empty partial batch response)', async () => {
    const { deps, graph, telemetry, clock } = setup();
    clock.set(T0 + 30);
    const res = await processBatch(
      [record(step({ index: 0, action: seen }), { firstReceiveAt: T0 + 30 })],
      deps,
    );
    expect(res).toEqual({ batchItemFailures: [] });
    expect(kinds(graph.calls)).toEqual(['mark_seen']);
    expect(visibilityCalls()).toEqual([]);
    expect(metricTotal(telemetry.metrics, 'StepsSent', { action: 'mark_seen' })).toBe(1);
    expect(metricTotal(telemetry.metrics, 'StepLateness')).toBe(0);
    expect(metricTotal(telemetry.metrics, 'StepLatenessVsPlan')).toBe(30);
    expect(metricTotal(telemetry.metrics, 'GraphLatency')).toBe(GRAPH_LATENCY_MS);
  });

  it('waits a short pause in-process, on the sequence timeline: the Graph latency is not added to it', async () => {
    const { deps, graph, clock } = setup();
    const res = await processBatch(
      [
        record(step({ index: 0, action: typingOn })),
        record(step({ index: 1, action: text('hi'), delayMs: 600, dueAt: T0 + 600 })),
      ],
      deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(clock.sleeps).toEqual([600 - GRAPH_LATENCY_MS]);
    expect(graph.calls.map((c) => c.at)).toEqual([T0, T0 + 600]);
    expect(visibilityCalls()).toEqual([]);
  });

  it('never sends early when a timer fires early (busy event loop): it tops the wait up', async () => {
    const { deps, graph, clock } = setup();
    let early = 61; // the first timer fires 61 ms early, later ones on time
    const earlySleep = async (ms: number) => {
      clock.sleeps.push(ms);
      clock.advance(Math.max(0, ms - early));
      early = 0;
    };
    await processBatch(
      [
        record(step({ index: 0, action: typingOn })),
        record(step({ index: 1, action: text('hi'), delayMs: 600, dueAt: T0 + 600 })),
      ],
      { ...deps, sleep: earlySleep },
    );
    expect(graph.calls[1]?.at).toBeGreaterThanOrEqual(T0 + 600);
    expect(clock.sleeps).toEqual([600 - GRAPH_LATENCY_MS, 61]);
  });

  it('defers a long pause to SQS: whole seconds of visibility, nothing slept before the deferral', async () => {
    const { deps, graph, clock, telemetry } = setup();
    const res = await processBatch(
      [
        record(step({ index: 0, action: typingOn }), { id: 'typing' }),
        record(step({ index: 1, action: text('hi'), delayMs: 3000, dueAt: T0 + 3000 }), { id: 'reply' }),
      ],
      deps,
    );
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'reply' }] });
    expect(kinds(graph.calls)).toEqual(['typing_on']);
    expect(clock.sleeps).toEqual([]);
    // Due at T0 + 3000, now T0 + 80: 2 whole seconds to SQS, the redelivery waits the last 920 ms.
    expect(visibilityCalls()).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'rh-reply', VisibilityTimeout: 2 },
    ]);
    expect(metricTotal(telemetry.metrics, 'StepsDeferred')).toBe(1);
  });

  it('hands SQS the whole seconds; the redelivery sleeps the sub-second rest and lands on the due time', async () => {
    const { deps, clock, graph } = setup();
    clock.set(T0 + 20); // first received at T0, processed 20 ms later
    const reply = step({ index: 1, action: text('hi'), delayMs: 3000, dueAt: T0 + 3000 });
    const res = await processBatch([record(reply, { id: 'reply' })], deps);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'reply' }]);
    expect(clock.sleeps).toEqual([]);
    expect(visibilityCalls()[0]?.VisibilityTimeout).toBe(2);
    clock.set(T0 + 20 + 2000 + 7); // SQS redelivers 7 ms after the visibility ran out
    const again = await processBatch([record(reply, { id: 'reply', receiveCount: 2 })], deps);
    expect(again.batchItemFailures).toEqual([]);
    expect(clock.sleeps).toEqual([973]);
    expect(graph.calls.map((c) => c.at)).toEqual([T0 + 3000]);
  });

  it('sends a redelivered step on time: the anchor is the first receive, not the redelivery', async () => {
    const { deps, graph, clock, telemetry } = setup();
    clock.set(T0 + 3004); // redelivered 4 ms after its due time
    const res = await processBatch(
      [record(step({ index: 1, action: text('hi'), delayMs: 3000, dueAt: T0 + 3000 }), { receiveCount: 2 })],
      deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(graph.calls).toHaveLength(1);
    expect(metricTotal(telemetry.metrics, 'StepLateness')).toBe(4);
  });

  it('returns every later record of a deferred group, with its visibility changed too; other groups go on', async () => {
    const { deps, graph } = setup();
    const other = { pageId: PAGE, psid: 'OTHER_USER' };
    const res = await processBatch(
      [
        record(step({ index: 0, action: typingOn }), { id: 'a0' }),
        record(step({ ...other, sequenceId: 'm_b', index: 0, action: seen }), { id: 'b0' }),
        record(step({ index: 1, action: text('one'), delayMs: 3000, dueAt: T0 + 3000 }), { id: 'a1' }),
        record(step({ ...other, sequenceId: 'm_b', index: 1, action: typingOn, delayMs: 300 }), { id: 'b1' }),
        record(step({ index: 2, action: typingOn, delayMs: 700, dueAt: T0 + 3700 }), { id: 'a2' }),
        record(step({ index: 3, action: text('two'), delayMs: 2000, dueAt: T0 + 5700 }), { id: 'a3' }),
      ],
      deps,
    );
    expect(res).toEqual({
      batchItemFailures: [{ itemIdentifier: 'a1' }, { itemIdentifier: 'a2' }, { itemIdentifier: 'a3' }],
    });
    expect(visibilityCalls().map((c) => [c.ReceiptHandle, c.VisibilityTimeout])).toEqual([
      ['rh-a1', 2],
      ['rh-a2', 2],
      ['rh-a3', 2],
    ]);
    expect(graph.calls.map((c) => `${c.psid}:${kinds([c])[0]}`)).toEqual(
      expect.arrayContaining([`${USER}:typing_on`, 'OTHER_USER:mark_seen', 'OTHER_USER:typing_on']),
    );
    expect(graph.calls).toHaveLength(3);
  });

  it('runs groups concurrently and the steps of a group strictly in order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 1500 })), {
          minLength: 1,
          maxLength: 10,
        }),
        async (spec) => {
          sqsMock.resetHistory();
          const { deps, graph } = setup();
          const counters = new Map<number, number>();
          const records = spec.map(([user, delayMs]) => {
            const index = counters.get(user) ?? 0;
            counters.set(user, index + 1);
            return record(
              step({
                psid: `U${user}`,
                sequenceId: `s${user}`,
                index,
                action: text(`${user}-${index}`),
                delayMs,
              }),
            );
          });
          const res = await processBatch(records, deps);
          for (const user of counters.keys()) {
            const sent = graph.calls.filter((c) => c.psid === `U${user}`).map((c) => c.action);
            const expected = records
              .filter((r) => r.attributes.MessageGroupId === groupIdOf(PAGE, `U${user}`))
              .slice(0, sent.length)
              .map((r) => (JSON.parse(r.body) as QueuedStep).action);
            expect(sent).toEqual(expected);
          }
          // Every record is either sent or reported, never both, never neither.
          expect(graph.calls.length + res.batchItemFailures.length).toBe(records.length);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('processes different groups at the same time', async () => {
    const clock = fakeClock();
    let inFlight = 0;
    let maxInFlight = 0;
    const graph = {
      sendAction: async (): Promise<GraphSendResult> => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight -= 1;
        return { ok: true, latencyMs: 1 };
      },
    };
    const { deps } = setup();
    const records = Array.from({ length: 10 }, (_, i) =>
      record(step({ psid: `U${i}`, index: 0, action: seen })),
    );
    await processBatch(records, { ...deps, graph, now: clock.now, sleep: clock.sleep });
    expect(maxInFlight).toBe(10);
  });

  it('skips a stale typing step in catch-up mode without calling Graph; never skips a message', async () => {
    const { deps, graph, clock, telemetry } = setup();
    clock.set(T0 + 20_000);
    const res = await processBatch(
      [
        record(step({ index: 1, action: typingOn, delayMs: 500, dueAt: T0, skippableAfterMs: 2000 }), {
          firstReceiveAt: T0 + 20_000,
        }),
      ],
      deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(graph.calls).toEqual([]);
    expect(metricTotal(telemetry.metrics, 'StepsSkipped', { action: 'typing_on' })).toBe(1);

    const late = await processBatch(
      [record(step({ index: 2, action: text('still sent'), dueAt: T0 }), { firstReceiveAt: T0 + 20_000 })],
      deps,
    );
    expect(late.batchItemFailures).toEqual([]);
    expect(kinds(graph.calls)).toEqual(['message']);
  });

  it('catches up when too late: no further pause is added', async () => {
    const { deps, graph, clock, telemetry } = setup();
    clock.set(T0 + 20_000);
    const res = await processBatch(
      [
        record(step({ index: 3, action: text('late'), delayMs: 3000, dueAt: T0 }), {
          firstReceiveAt: T0 + 20_000,
        }),
      ],
      deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(graph.calls[0]?.at).toBe(T0 + 20_000);
    expect(visibilityCalls()).toEqual([]);
    expect(metricTotal(telemetry.metrics, 'StepsCaughtUp')).toBe(1);
    expect(metricTotal(telemetry.metrics, 'StepLatenessVsPlan')).toBe(20_000);
  });

  it('defers without calling Graph while usage is above the threshold', async () => {
    const { deps, graph, clock, telemetry } = setup();
    graph.setUsage({ maxPercent: 95, regainAccessMs: 0, readAt: T0 - 1000 });
    const res = await processBatch([record(step({ index: 0, action: seen }), { id: 's' })], deps);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 's' }]);
    expect(graph.calls).toEqual([]);
    expect(metricTotal(telemetry.metrics, 'StepsThrottled')).toBe(1);
    // a stale reading no longer holds anything back
    clock.advance(120_000);
    await processBatch([record(step({ index: 0, action: seen }))], deps);
    expect(graph.calls).toHaveLength(1);
  });

  it('waits out a regain time Graph announced', async () => {
    const { deps, graph } = setup({ random: () => 0 });
    graph.setUsage({ maxPercent: 10, regainAccessMs: 120_000, readAt: T0 });
    await processBatch([record(step({ index: 0, action: seen }))], deps);
    expect(graph.calls).toEqual([]);
    expect(visibilityCalls()[0]?.VisibilityTimeout).toBe(120);
  });
});

describe('processBatch: failures', () => {
  it('returns a transient failure with a backoff visibility, and its followers with it', async () => {
    const { deps, telemetry } = setup({ answer: () => ({ kind: 'transient', code: 2, status: 400 }) });
    const res = await processBatch(
      [
        record(step({ index: 0, action: seen }), { id: 'x', receiveCount: 5 }),
        record(step({ index: 1, action: typingOn }), { id: 'y' }),
      ],
      deps,
    );
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'x' }, { itemIdentifier: 'y' }]);
    // receive 5 → attempt 3 → cap 2·2² = 8 s; random() = 1 takes the whole cap
    expect(visibilityCalls().map((c) => c.VisibilityTimeout)).toEqual([8, 8]);
    expect(metricTotal(telemetry.metrics, 'StepsRetried', { code: '2' })).toBe(1);
  });

  it('honours retryAfterMs over a shorter backoff', async () => {
    const { deps } = setup({ answer: () => ({ kind: 'transient', code: 613, retryAfterMs: 30_000 }) });
    await processBatch([record(step({ index: 0, action: seen }))], deps);
    expect(visibilityCalls()[0]?.VisibilityTimeout).toBe(30);
  });

  it('does not retry a message whose outcome is unknown (it may have reached Meta): counted, done', async () => {
    const unknown: Answer = { kind: 'transient', status: 0, reason: 'timeout', outcomeUnknown: true };
    const { deps, graph, telemetry } = setup({ answer: () => unknown });
    const res = await processBatch(
      [
        record(step({ index: 0, action: text('hi') }), { id: 'm0' }),
        record(step({ index: 1, action: typingOn }), { id: 't1' }),
      ],
      deps,
    );
    // The message counts as done and the sequence goes on; the typing step, repeatable, is retried.
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 't1' }]);
    expect(kinds(graph.calls)).toEqual(['message', 'typing_on']);
    expect(metricTotal(telemetry.metrics, 'StepsOutcomeUnknown', { action: 'message' })).toBe(1);
    expect(metricTotal(telemetry.metrics, 'StepsRetried')).toBe(1);
    expect(metricTotal(telemetry.metrics, 'StepsFailed')).toBe(0);
  });

  it('records a sent message and does not send it again when SQS redelivers it', async () => {
    const { deps, graph, telemetry, ledger } = setup();
    const reply = step({ index: 1, action: text('hi') });
    const typing = step({ index: 2, action: typingOn });
    await processBatch([record(reply, { id: 'r' }), record(typing, { id: 't' })], deps);
    const group = groupIdOf(PAGE, USER);
    expect(await ledger.has(sentKey(group, reply))).toBe(true);
    expect(await ledger.has(sentKey(group, typing))).toBe(false); // repeatable: not tracked
    // The invocation "died" after Graph accepted both: SQS hands them out again.
    const res = await processBatch(
      [record(reply, { id: 'r', receiveCount: 2 }), record(typing, { id: 't', receiveCount: 2 })],
      deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(kinds(graph.calls)).toEqual(['message', 'typing_on', 'typing_on']);
    expect(metricTotal(telemetry.metrics, 'StepsAlreadySent', { action: 'message' })).toBe(1);
  });

  it('drops a replayed message (a responder rerun, same ids) already sent, even on its first receive', async () => {
    const { deps, graph, telemetry } = setup();
    const reply = step({ index: 1, action: text('hi') });
    await processBatch([record(reply, { id: 'r' })], deps);
    // The responder crashed after enqueueing it; its rerun, past SQS's 5-minute dedup, enqueues it anew.
    await processBatch([record({ ...reply, replayed: true }, { id: 'r2' })], deps);
    expect(kinds(graph.calls)).toEqual(['message']);
    expect(metricTotal(telemetry.metrics, 'StepsAlreadySent', { action: 'message' })).toBe(1);
    // A replayed message never sent before goes out.
    await processBatch(
      [record({ ...step({ index: 2, action: text('new') }), replayed: true }, { id: 'n' })],
      deps,
    );
    expect(kinds(graph.calls)).toEqual(['message', 'message']);
  });

  it('sends a redelivered message that has no sent-step record, and fails open on an unreadable one', async () => {
    const reply = step({ index: 1, action: text('hi') });
    const plain = setup();
    await processBatch([record(reply, { receiveCount: 3 })], plain.deps);
    expect(kinds(plain.graph.calls)).toEqual(['message']);
    const broken: Ledger = {
      has: async () => {
        throw new Error('dynamo down');
      },
      record: async () => {
        throw new Error('dynamo down');
      },
    };
    const { deps, graph, telemetry } = setup({ ledger: broken });
    const res = await processBatch([record(reply, { receiveCount: 3 })], deps);
    expect(res.batchItemFailures).toEqual([]);
    expect(kinds(graph.calls)).toEqual(['message']);
    expect(metricTotal(telemetry.metrics, 'LedgerWriteFailed')).toBe(1);
  });

  it('on a permanent failure: aborts the sequence, clears typing, drops later steps, deletes all', async () => {
    const { deps, graph, telemetry, ledger } = setup({
      answer: (r) =>
        'message' in r.action && r.action.message.text === 'bad'
          ? {
              kind: 'permanent',
              code: 100,
              subcode: 2018001,
              fbtraceId: 'TRACE1',
              status: 400,
              reason: 'bad param',
            }
          : 'ok',
    });
    const res = await processBatch(
      [
        record(step({ index: 1, action: typingOn })),
        record(step({ index: 2, action: text('bad') })),
        record(step({ index: 3, action: typingOn })),
        record(step({ index: 4, action: text('never') })),
      ],
      deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(kinds(graph.calls)).toEqual(['typing_on', 'message', 'typing_off']);
    expect(await ledger.has(abortKey(groupIdOf(PAGE, USER), 'm_seq1'))).toBe(true);
    expect(metricTotal(telemetry.metrics, 'StepsDropped')).toBe(2);
    expect(metricTotal(telemetry.metrics, 'StepsFailed', { code: '100' })).toBe(1);
    const logged = telemetry.logs.find((l) => l.level === 'error');
    expect(logged?.attributes).toMatchObject({
      fbtraceId: 'TRACE1',
      code: 100,
      subcode: 2018001,
      user: userLabel(USER),
    });
    expect(JSON.stringify(telemetry.logs)).not.toContain(USER);

    // A later invocation (another batch) drops the rest of the sequence through the ledger.
    const later = await processBatch([record(step({ index: 5, action: text('still never') }))], deps);
    expect(later.batchItemFailures).toEqual([]);
    expect(graph.calls).toHaveLength(3);
    // …but a new sequence for the same user is sent.
    await processBatch([record(step({ sequenceId: 'm_seq2', index: 0, action: seen }))], deps);
    expect(graph.calls).toHaveLength(4);
  });

  it('drops every unsent message of a sequence the responder aborted, its first step included', async () => {
    // RESPONDER_MID_REPLY=restart: a streamed bubble is a sequence of its own that starts with its message.
    const { deps, graph, ledger } = setup();
    await ledger.record(abortKey(groupIdOf(PAGE, USER), 'm_seq1'));
    await processBatch(
      [
        record(step({ index: 0, action: text('stale bubble') })),
        record(step({ sequenceId: 'm_seq2', index: 0, action: text('the new answer') })),
      ],
      deps,
    );
    expect(graph.calls.map((c) => ('message' in c.action ? c.action.message : c.action))).toEqual([
      { text: 'the new answer' },
    ]);
  });

  it('flags an invalid token (190) and skips the pointless typing_off', async () => {
    const { deps, graph, telemetry } = setup({
      answer: () => ({ kind: 'permanent', code: 190, tokenInvalid: true }),
    });
    await processBatch([record(step({ index: 0, action: text('hi') }))], deps);
    expect(graph.calls).toHaveLength(1);
    expect(metricTotal(telemetry.metrics, 'PageTokenInvalid')).toBe(1);
    expect(telemetry.logs.some((l) => l.level === 'error' && /token/.test(l.message))).toBe(true);
  });

  it('marks an unreachable recipient (551)', async () => {
    const { deps, telemetry } = setup({
      answer: () => ({ kind: 'permanent', code: 551, subcode: 1545041, recipientUnreachable: true }),
    });
    const res = await processBatch([record(step({ index: 0, action: typingOn }))], deps);
    expect(res.batchItemFailures).toEqual([]);
    expect(metricTotal(telemetry.metrics, 'RecipientUnreachable')).toBe(1);
  });

  it('gives up on the final receive: DLQ copy, abort, delete — before SQS would redrive it silently', async () => {
    const { deps, graph, ledger, telemetry } = setup({
      dlqUrl: DLQ_URL,
      answer: (r) => ('message' in r.action ? { kind: 'transient', code: 1200 } : 'ok'),
    });
    const res = await processBatch(
      [record(step({ index: 2, action: text('hi') }), { receiveCount: 20 })],
      deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(kinds(graph.calls)).toEqual(['message', 'typing_off']);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(await ledger.has(abortKey(groupIdOf(PAGE, USER), 'm_seq1'))).toBe(true);
    expect(metricTotal(telemetry.metrics, 'StepsGivenUp')).toBe(1);
  });

  it('never deletes a given-up step whose DLQ copy failed: it goes back for SQS to redrive', async () => {
    const { deps, ledger } = setup({
      dlqUrl: DLQ_URL,
      answer: (r) => ('message' in r.action ? { kind: 'transient', code: 1200 } : 'ok'),
    });
    sqsMock
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const given = record(step({ index: 2, action: text('hi') }), { receiveCount: 20, id: 'given-up' });
    const res = await processBatch([given], deps);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'given-up' }]);
    expect(visibilityCalls()).toEqual([
      expect.objectContaining({ ReceiptHandle: 'rh-given-up', VisibilityTimeout: 0 }),
    ]);
    // The rest of its sequence is still stopped: nothing after a message the user never got.
    expect(await ledger.has(abortKey(groupIdOf(PAGE, USER), 'm_seq1'))).toBe(true);
  });

  it('sends a not-yet-due step early on its final receive instead of losing it to the redrive', async () => {
    const { deps, graph } = setup();
    const res = await processBatch(
      [record(step({ index: 1, action: text('hi'), delayMs: 5000, dueAt: T0 + 5000 }), { receiveCount: 20 })],
      deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(graph.calls).toHaveLength(1);
  });

  it('sends a poison record to the DLQ and goes on with its group', async () => {
    const { deps, graph, telemetry } = setup({ dlqUrl: DLQ_URL });
    const res = await processBatch(
      [
        record('{"not":"a step"}', { id: 'poison' }),
        record(step({ index: 0, action: seen }), { id: 'good' }),
      ],
      deps,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(graph.calls).toHaveLength(1);
    const [dlq] = sqsMock.commandCalls(SendMessageCommand);
    expect(dlq?.args[0].input).toMatchObject({
      QueueUrl: DLQ_URL,
      MessageBody: '{"not":"a step"}',
      MessageGroupId: groupIdOf(PAGE, USER),
      MessageDeduplicationId: 'poison',
    });
    expect(metricTotal(telemetry.metrics, 'PoisonMessages')).toBe(1);
  });

  it('returns a poison record (and its followers) when there is no DLQ; other groups are unaffected', async () => {
    const { deps, graph } = setup();
    const res = await processBatch(
      [
        record('garbage', { id: 'poison' }),
        record(step({ index: 0, action: seen }), { id: 'behind' }),
        record(step({ psid: 'OTHER', index: 0, action: seen }), { id: 'other' }),
      ],
      deps,
    );
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'poison' }, { itemIdentifier: 'behind' }] });
    expect(graph.calls.map((c) => c.psid)).toEqual(['OTHER']);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('never throws: a crashing Graph client, a failing SQS and an unreadable ledger are contained', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(new Error('sqs down'));
    const brokenLedger: Ledger = {
      has: async () => {
        throw new Error('dynamo down');
      },
      record: async () => {
        throw new Error('dynamo down');
      },
    };
    const { deps, telemetry } = setup({
      ledger: brokenLedger,
      answer: (r) =>
        r.psid === 'CRASH' ? 'throw' : r.psid === 'BAD' ? { kind: 'permanent', code: 100 } : 'ok',
    });
    const res = await processBatch(
      [
        record(step({ psid: 'CRASH', index: 1, action: seen }), { id: 'crash' }),
        record(step({ psid: 'BAD', index: 1, action: seen }), { id: 'bad' }),
        record(step({ index: 1, action: seen }), { id: 'fine' }),
        record(step({ psid: 'LATER', index: 1, action: text('x'), delayMs: 5000, dueAt: T0 + 5000 }), {
          id: 'later',
        }),
      ],
      deps,
    );
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['crash', 'later']);
    expect(metricTotal(telemetry.metrics, 'ProcessingErrors')).toBe(1);
    expect(metricTotal(telemetry.metrics, 'LedgerReadFailed')).toBe(4);
    expect(metricTotal(telemetry.metrics, 'VisibilityChangeFailed')).toBe(2);
  });
});

// --- Billed work: a small FIFO simulator driving processBatch on the fake clock ------------------------------

type SimMessage = {
  id: string;
  body: string;
  group: string;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  inFlight: boolean;
};

/** Far above what the scenarios here need (at most 3 receives each), low enough to fail at once. */
const MAX_RECEIVES = 100;

/**
 * Enough of SQS FIFO for the sender: a group is blocked while one of its messages is in flight; a receive
 * returns visible messages in order, up to `batchSize`; ChangeMessageVisibility and delete as in SQS.
 */
const fifoSimulator = (clock: Clock, batchSize: number, pollLatencyMs: number, startDelayMs = 0) => {
  const messages: SimMessage[] = [];
  const QUEUE_VISIBILITY_MS = 90_000;
  sqsMock.on(ChangeMessageVisibilityCommand).callsFake((input: ChangeMessageVisibilityCommandInput) => {
    const m = messages.find((x) => `rh-${x.id}` === input.ReceiptHandle);
    if (m) m.visibleAt = clock.now() + (input.VisibilityTimeout ?? 0) * 1000;
    return {};
  });
  const receive = (): SimMessage[] => {
    const now = clock.now();
    for (const m of messages) if (m.inFlight && m.visibleAt <= now) m.inFlight = false;
    const blocked = new Set(messages.filter((m) => m.inFlight).map((m) => m.group));
    const batch: SimMessage[] = [];
    const groupsDone = new Set<string>();
    for (const m of messages) {
      if (batch.length >= batchSize) break;
      if (blocked.has(m.group) || groupsDone.has(m.group)) continue;
      if (m.visibleAt > now) {
        groupsDone.add(m.group); // FIFO: nothing behind an invisible head
        continue;
      }
      batch.push(m);
    }
    for (const m of batch) {
      m.inFlight = true;
      m.visibleAt = now + QUEUE_VISIBILITY_MS;
      m.receiveCount += 1;
      m.firstReceiveAt ??= now;
    }
    return batch;
  };
  return {
    send: (steps: QueuedStep[]) => {
      for (const s of steps)
        messages.push({
          id: `${s.sequenceId}-${s.index}`,
          body: encodeStep(s),
          group: groupIdOf(s.pageId, s.psid),
          visibleAt: clock.now(),
          receiveCount: 0,
          inFlight: false,
        });
    },
    /** Runs invocations until the queue is empty; returns the fake-clock duration of each. */
    drain: async (deps: ConsumerDeps) => {
      const invocations: { ids: string[]; billedMs: number }[] = [];
      // Bounded so that a bug that never lets the queue drain fails the test instead of spinning forever.
      for (let receives = 0; messages.length > 0; receives++) {
        expect(receives, `queue not drained after ${MAX_RECEIVES} receives`).toBeLessThan(MAX_RECEIVES);
        const next = Math.min(...messages.map((m) => m.visibleAt));
        clock.set(Math.max(clock.now(), next) + pollLatencyMs);
        const batch = receive();
        if (batch.length === 0) continue;
        clock.advance(startDelayMs); // SQS receive → handler start (Lambda poller, invocation)
        const started = clock.now();
        const res = await processBatch(
          batch.map((m) => ({
            messageId: m.id,
            receiptHandle: `rh-${m.id}`,
            body: m.body,
            attributes: {
              MessageGroupId: m.group,
              ApproximateReceiveCount: String(m.receiveCount),
              ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt),
              SentTimestamp: String(T0),
            },
          })),
          deps,
        );
        invocations.push({ ids: batch.map((m) => m.id), billedMs: clock.now() - started });
        const failed = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
        for (const m of batch) if (!failed.has(m.id)) messages.splice(messages.indexOf(m), 1);
      }
      return invocations;
    },
  };
};

/** typing_on, then the reply `waitMs` after it — the sequence whose pause used to be slept in Lambda. */
const typingThenReply = (waitMs: number): QueuedStep[] => [
  step({ sequenceId: `w${waitMs}`, index: 0, count: 2, action: typingOn, delayMs: 0, dueAt: T0 }),
  step({
    sequenceId: `w${waitMs}`,
    index: 1,
    count: 2,
    action: text('hi'),
    delayMs: waitMs,
    dueAt: T0 + waitMs,
  }),
];

describe('billed work per step (fake clock, batch size 1 as in serverless.yml)', () => {
  type Scenario = { pollLatencyMs: number; startDelayMs: number; maxSleepMs: number };
  const run = async (waitMs: number, { pollLatencyMs, startDelayMs, maxSleepMs }: Scenario) => {
    const { deps, clock, graph } = setup({ tuning: { SENDER_DEFER_MAX_SLEEP_MS: maxSleepMs } });
    const sim = fifoSimulator(clock, 1, pollLatencyMs, startDelayMs);
    sim.send(typingThenReply(waitMs));
    const invocations = await sim.drain(deps);
    const billedFor = (id: string) =>
      invocations.filter((i) => i.ids.includes(id)).reduce((sum, i) => sum + i.billedMs, 0);
    const [typing, reply] = graph.calls;
    return {
      invocations: invocations.length,
      typingBilled: billedFor(`w${waitMs}-0`),
      replyBilled: billedFor(`w${waitMs}-1`),
      typingAt: typing?.at ?? 0,
      replyAt: reply?.at ?? 0,
    };
  };

  const scenarios: Scenario[] = [
    { pollLatencyMs: 0, startDelayMs: 0, maxSleepMs: 1000 },
    { pollLatencyMs: 40, startDelayMs: 15, maxSleepMs: 1000 },
    { pollLatencyMs: 40, startDelayMs: 15, maxSleepMs: 250 },
  ];
  for (const scenario of scenarios) {
    const name = `poll ${scenario.pollLatencyMs} ms, start ${scenario.startDelayMs} ms, max sleep ${scenario.maxSleepMs} ms`;
    it(`does not bill the wait: 0.6 s, 3 s and 12 s pauses (${name})`, async () => {
      const { pollLatencyMs: poll, startDelayMs: start, maxSleepMs } = scenario;
      const results = new Map<number, Awaited<ReturnType<typeof run>>>();
      for (const waitMs of [600, 3000, 12_000]) results.set(waitMs, await run(waitMs, scenario));
      if (process.env.ELLIPSIS_PRINT_BILLED) console.table(Object.fromEntries(results));

      const exact = maxSleepMs >= 1000;
      for (const [waitMs, r] of results) {
        expect(r.typingBilled).toBe(GRAPH_LATENCY_MS);
        // The typing step itself arrives one poll + start late; the reply keeps to the timeline.
        expect(r.typingAt).toBe(T0 + poll + start);
        expect(r.replyAt).toBeGreaterThanOrEqual(T0 + waitMs); // never early
        // Whatever the pause: at most one second slept, plus the Graph call.
        expect(r.replyBilled).toBeLessThanOrEqual(GRAPH_LATENCY_MS + 1000);
        // The reply is first received two polls, two starts and the typing call after T0.
        const firstStart = 2 * poll + 2 * start + GRAPH_LATENCY_MS;
        if (waitMs - firstStart <= senderTuning.SENDER_INLINE_WAIT_MS) {
          // short waits are slept in-process on purpose: SQS cannot wait less than a second
          expect(r.invocations).toBe(2);
          expect(r.replyBilled).toBe(GRAPH_LATENCY_MS + waitMs - firstStart);
          expect(r.replyAt).toBe(T0 + waitMs);
          continue;
        }
        expect(r.invocations).toBe(3); // typing, deferral, reply: one deferral
        if (exact) expect(r.replyAt).toBe(T0 + waitMs);
        else {
          // cheapest: nothing slept, the deferral rounded up to the next second (plus a poll and a start)
          expect(r.replyBilled).toBe(GRAPH_LATENCY_MS);
          expect(r.replyAt - (T0 + waitMs)).toBeLessThan(1000 + poll + start);
        }
      }
      // The point: a 12 s pause bills exactly what a 3 s one does.
      expect(results.get(12_000)?.replyBilled).toBe(results.get(3000)?.replyBilled);
    });
  }

  it('handles a batch of 10 in one invocation: a whole conversation paced correctly, followers returned', async () => {
    const { deps, clock, graph } = setup();
    const sim = fifoSimulator(clock, 10, 0);
    const plan: [Action, number][] = [
      [seen, 0],
      [typingOn, 500],
      [text('one'), 3000],
      [typingOn, 700],
      [text('two'), 2500],
    ];
    let dueAt = T0;
    sim.send(
      plan.map(([action, delayMs], index) => {
        dueAt += delayMs;
        return step({ sequenceId: 'conv', index, count: plan.length, action, delayMs, dueAt });
      }),
    );
    const invocations = await sim.drain(deps);
    expect(kinds(graph.calls)).toEqual(['mark_seen', 'typing_on', 'message', 'typing_on', 'message']);
    // Every step goes out on the sequence timeline: T0 + the planned delays up to it, to the millisecond.
    let at = T0;
    plan.forEach(([, delayMs], i) => {
      at += delayMs;
      expect(graph.calls[i]?.at).toBe(at);
    });
    expect(invocations.map((i) => i.ids.length)).toEqual([5, 3, 1]);
  });
});

describe('processBatch: a record that throws', () => {
  it('returns only the record that threw and the rest of its group; its sent predecessor stays done', async () => {
    const { deps, telemetry } = setup({ answer: (r) => ('message' in r.action ? 'throw' : 'ok') });
    const res = await processBatch(
      [
        record(step({ index: 0, count: 2, action: seen }), { id: 'seen' }),
        record(step({ index: 1, count: 2, action: text('hi') }), { id: 'crash' }),
      ],
      deps,
    );
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'crash' }]);
    expect(visibilityCalls()).toEqual([
      expect.objectContaining({
        ReceiptHandle: 'rh-crash',
        VisibilityTimeout: senderTuning.RETRY_BASE_SECONDS,
      }),
    ]);
    const logged = telemetry.logs.find((l) => l.message === 'unexpected error while processing a record');
    expect(logged?.attributes).toMatchObject({ messageId: 'crash', error: 'Error' });
  });
});

describe('stepGroupOf', () => {
  it('takes the MessageGroupId attribute, else the decoded step’s group, else the record’s own', () => {
    const withAttribute = record(step({ index: 0, action: seen }), { group: 'G1' });
    expect(stepGroupOf(withAttribute)).toBe('G1');
    const bare = { ...record(step({ psid: 'U2', index: 0, action: seen })), attributes: {} };
    expect(stepGroupOf(bare)).toBe(groupIdOf(PAGE, 'U2'));
    const poison = { ...record('not a step', { id: 'poison' }), attributes: {} };
    expect(stepGroupOf(poison)).toBe('record:poison');
  });
});
