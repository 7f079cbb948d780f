/**
 * Per-account call budgets through one step's whole path (processRecord → the real Graph client → the local
 * Graph fake enforcing a per-account limit with the corpus's real 613 body): a hot account stays under its
 * limit, sheds cosmetic steps in order, never sheds a message, and a 613 stops the account for every step
 * instead of each one retrying into it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { graphClient } from '../../../lib/meta/graph/client.ts';
import { memoryLedger } from '../../../lib/platform/ledger.ts';
import { groupIdOf, type QueuedStep } from '../../../lib/queue/codec.ts';
import { accountHolds } from '../../../lib/sender/account-hold.ts';
import { memoryBudgetStore } from '../../../lib/sender/budget-store.ts';
import { processRecord } from '../../../lib/sender/process-step.ts';
import type { RecordOutcome } from '../../../lib/sender/record.ts';
import { type GraphFake, startGraphFake } from '../../../local/graph-fake.ts';
import { corpusDir, corpusSuiteTitle, hasCorpus } from '../../support/corpus.ts';
import { queuedStep, senderTuning, stepRecord } from '../../support/factories.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const T0 = 1_800_000_000_000;
const PAGE = '104729348572910';
const TOKEN = 'EAApagetoken0000001';
const SECRET = 'app-secret-00000001';
const LIMIT = 10;
const fakes: GraphFake[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.stop();
});

const rateLimitBody = (): unknown =>
  JSON.parse(readFileSync(join(corpusDir, 'graph-errors', '613-rate-limit.json'), 'utf8'));

const setup = async (options: { budget: 'on' | 'off'; graphLimit?: number }) => {
  const clock = { now: T0 };
  const graph = await startGraphFake({
    appSecret: SECRET,
    accessToken: TOKEN,
    now: () => clock.now,
    rateLimit: { perSecond: options.graphLimit ?? LIMIT, status: 400, body: rateLimitBody() },
  });
  fakes.push(graph);
  const client = graphClient({
    baseUrl: graph.url,
    version: 'v26.0',
    accessToken: TOKEN,
    appSecret: SECRET,
    timeoutMs: 2_000,
  });
  const telemetry = memoryTelemetry();
  const deps = {
    graph: client,
    sqs: new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/steps.fifo',
    ledger: memoryLedger({ now: () => clock.now }),
    now: () => clock.now,
    sleep: async () => {},
    telemetry,
    random: () => 0,
    tuning: { ...senderTuning, SENDER_CALL_BUDGET: options.budget, SENDER_ACCOUNT_CALLS_PER_SECOND: LIMIT },
    accountHolds: accountHolds(),
    budget: memoryBudgetStore(),
  };
  const receive = (step: QueuedStep, receiveCount = 1): Promise<RecordOutcome> =>
    processRecord(
      deps,
      stepRecord(step, {
        id: `msg-${step.psid}-${step.index}-${receiveCount}`,
        dueAt: clock.now,
        receiveCount,
      }),
      groupIdOf(step.pageId, step.psid),
      undefined,
    );
  return { clock, graph, telemetry, receive };
};

/** One user's reply as the planner spaces it, all due now: seen, typing, a refresh, the message. */
const reply = (user: number): QueuedStep[] => {
  const base = { pageId: PAGE, psid: `77000000000${user}`, sequenceId: `m_${user}`, count: 4 };
  return [
    queuedStep({ ...base, index: 0, action: { sender_action: 'mark_seen' } }),
    queuedStep({ ...base, index: 1, action: { sender_action: 'typing_on' } }),
    queuedStep({ ...base, index: 2, action: { sender_action: 'typing_on' }, refresh: true }),
    queuedStep({ ...base, index: 3, action: { message: { text: `reply ${user}` } } }),
  ];
};

/** 10 users' replies (40 steps, 4× the limit) offered in one second, each user's steps in order. */
const offerHotSecond = async (receive: (step: QueuedStep) => Promise<RecordOutcome>) => {
  const deferred: QueuedStep[] = [];
  for (let user = 0; user < 10; user += 1) {
    for (const step of reply(user)) {
      const outcome = await receive(step);
      // FIFO: a step that goes back holds its group's later steps.
      if (!outcome.done) {
        deferred.push(step);
        break;
      }
    }
  }
  return deferred;
};

describe.skipIf(!hasCorpus)(
  corpusSuiteTitle('per-account call budgets against a rate-limiting Graph'),
  () => {
    it('budgets on: under the limit, cosmetic steps shed in order, messages deferred, no 613', async () => {
      const { clock, graph, telemetry, receive } = await setup({ budget: 'on' });
      const deferred = await offerHotSecond(receive);
      expect(graph.calls.length).toBeLessThanOrEqual(LIMIT * 0.8);
      expect(graph.calls.every((c) => c.status === 200)).toBe(true);
      const shed = (action: string) =>
        telemetry.metrics.filter((m) => m.name === 'StepsShed' && m.dimensions?.action === action).length;
      // 8 calls: seen and typing for the first users, then only messages; refreshes went first.
      expect(shed('typing_on')).toBeGreaterThan(0);
      expect(deferred.every((step) => 'message' in step.action)).toBe(true);
      expect(metricTotal(telemetry.metrics, 'StepsRetried')).toBe(0);
      clock.now += 1000;
      for (const step of deferred) expect(await receive(step, 2)).toMatchObject({ done: true });
      const messages = graph.calls.filter((c) => c.kind === 'message' && c.status === 200);
      expect(messages.map((c) => c.psid).sort()).toEqual(
        Array.from({ length: 10 }, (_, user) => `77000000000${user}`).sort(),
      );
    });

    it('budgets off: the same second answers 613s and every refused message retries on its own', async () => {
      const { graph, telemetry, receive } = await setup({ budget: 'off' });
      await offerHotSecond(receive);
      const refused = graph.calls.filter((c) => c.status === 400).length;
      expect(refused).toBeGreaterThan(0);
      expect(metricTotal(telemetry.metrics, 'StepsRetried')).toBe(refused);
      expect(metricTotal(telemetry.metrics, 'StepsShed')).toBe(0);
    });

    it('a 613 (the limit lower than believed) stops the account for every step: one refusal, not one per step', async () => {
      const { graph, telemetry, receive } = await setup({ budget: 'on', graphLimit: 3 });
      await offerHotSecond(receive);
      expect(graph.calls.filter((c) => c.status === 400)).toHaveLength(1);
      expect(graph.calls).toHaveLength(4);
      expect(metricTotal(telemetry.metrics, 'RateRefusals')).toBe(1);
      expect(metricTotal(telemetry.metrics, 'StepsRetried')).toBe(0);
    });

    it('a message over budget on its final receive is sent anyway (the redrive never takes it)', async () => {
      const { graph, receive } = await setup({ budget: 'on', graphLimit: 100 });
      await offerHotSecond(receive);
      const before = graph.calls.length;
      const last = reply(42)[3];
      if (!last) throw new Error('reply has 4 steps');
      expect(await receive(last, senderTuning.QUEUE_MAX_RECEIVE_COUNT)).toMatchObject({ done: true });
      expect(graph.calls).toHaveLength(before + 1);
    });
  },
);
