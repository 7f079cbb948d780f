/**
 * Error 10 / 1893063 (a Page temporarily restricted from sending, Messenger changelog 2026-06-25), with its
 * body from test/fixtures/messenger/errors through the real Graph client: the account is held, no
 * conversation's reply is dropped, and the restricted Page costs one Graph call per hold, not one per step.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { graphClient } from '../../../lib/meta/graph/client.ts';
import { abortKey, memoryLedger } from '../../../lib/platform/ledger.ts';
import { groupIdOf, type QueuedStep } from '../../../lib/queue/codec.ts';
import { accountHolds, HOLD_FIRST_MS, HOLD_MAX_MS } from '../../../lib/sender/account-hold.ts';
import { processRecord } from '../../../lib/sender/process-step.ts';
import { queuedStep, senderTuning, stepRecord } from '../../support/factories.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const RESTRICTED = readFileSync(
  join(import.meta.dirname, '../../fixtures/messenger/errors/10-1893063-page-restricted.reconstructed.json'),
);
const T0 = 1_700_000_000_000;
const PAGE = '104729348572910';
const OTHER_PAGE = '104729348572911';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A local Graph that refuses PAGE with the 1893063 body while `restricted`, and accepts everything else. */
const restrictingGraph = async () => {
  const state = { restricted: true, calls: [] as string[] };
  const server = createServer((req, res) => {
    const node = new URL(req.url ?? '/', 'http://x').pathname.split('/')[2] ?? '';
    state.calls.push(node);
    req.resume().on('end', () => {
      if (state.restricted && node === PAGE) res.writeHead(400).end(RESTRICTED);
      else res.end('{"recipient_id":"1","message_id":"m"}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state };
};

const setup = async () => {
  const graph = await restrictingGraph();
  const clock = { now: T0 };
  const telemetry = memoryTelemetry();
  const ledger = memoryLedger({ now: () => clock.now });
  const client = graphClient({
    baseUrl: graph.url,
    version: 'v26.0',
    accessToken: 'EAApagetoken0000001',
    appSecret: 'app-secret-00000001',
    timeoutMs: 2_000,
  });
  cleanups.push(() => client.close());
  const deps = {
    graph: client,
    sqs: new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/steps.fifo',
    ledger,
    now: () => clock.now,
    sleep: async () => {},
    telemetry,
    tuning: senderTuning,
    accountHolds: accountHolds(),
  };
  /** One receive of a step: its outcome. */
  const receive = (step: QueuedStep, receiveCount = 1) =>
    processRecord(
      deps,
      stepRecord(step, { id: `msg-${step.psid}-${receiveCount}`, dueAt: clock.now, receiveCount }),
      groupIdOf(step.pageId, step.psid),
      undefined,
    );
  return { graph, clock, telemetry, ledger, receive };
};

const userStep = (user: number, pageId = PAGE) =>
  queuedStep({ pageId, psid: `77000000000000${user}`, sequenceId: `m_${user}`, index: 1, count: 2 });

describe('a Page restricted from sending (10 / 1893063)', () => {
  it('holds the account after ONE refused call: 50 conversations cost 1 Graph call, none is aborted', async () => {
    const { graph, telemetry, ledger, receive } = await setup();
    const outcomes = [];
    for (let user = 0; user < 50; user += 1) outcomes.push(await receive(userStep(user)));
    expect(graph.state.calls).toEqual([PAGE]);
    expect(outcomes.every((o) => !o.done && o.visibilitySeconds === HOLD_FIRST_MS / 1000)).toBe(true);
    for (let user = 0; user < 50; user += 1) {
      const step = userStep(user);
      expect(await ledger.has(abortKey(groupIdOf(step.pageId, step.psid), step.sequenceId))).toBe(false);
    }
    expect(metricTotal(telemetry.metrics, 'AccountRestricted')).toBe(1);
    expect(metricTotal(telemetry.metrics, 'StepsHeldAccountRestricted')).toBe(49);
    expect(metricTotal(telemetry.metrics, 'StepsFailed')).toBe(0);
    expect(metricTotal(telemetry.metrics, 'TypingOffFailed')).toBe(0);
  });

  it('probes once per hold, doubling it up to the cap, and lifts it on the first success', async () => {
    const { graph, clock, receive } = await setup();
    expect(await receive(userStep(1))).toMatchObject({ done: false, visibilitySeconds: 600 });
    const holds: number[] = [];
    for (let probe = 0; probe < 5; probe += 1) {
      clock.now += HOLD_MAX_MS; // past any hold: the next step is the probe
      const outcome = await receive(userStep(1));
      if (outcome.done) throw new Error('probe should be refused');
      holds.push(outcome.visibilitySeconds);
    }
    expect(holds).toEqual([1200, 2400, 4800, 7200, 7200]);
    expect(graph.state.calls).toHaveLength(6);
    graph.state.restricted = false;
    clock.now += HOLD_MAX_MS;
    expect(await receive(userStep(1))).toMatchObject({ done: true });
    expect(await receive(userStep(2))).toMatchObject({ done: true });
    expect(graph.state.calls).toHaveLength(8);
  });

  it('never holds another account', async () => {
    const { graph, receive } = await setup();
    await receive(userStep(1));
    expect(await receive(userStep(2, OTHER_PAGE))).toMatchObject({ done: true });
    expect(graph.state.calls).toEqual([PAGE, OTHER_PAGE]);
  });

  it('on the final receive the step is tried and, refused, aborted as before (SQS never drops it silently)', async () => {
    const { graph, ledger, receive } = await setup();
    await receive(userStep(1));
    const last = userStep(2);
    expect(await receive(last, senderTuning.QUEUE_MAX_RECEIVE_COUNT)).toMatchObject({ done: true });
    expect(graph.state.calls.filter((n) => n === PAGE).length).toBeGreaterThanOrEqual(2);
    expect(await ledger.has(abortKey(groupIdOf(last.pageId, last.psid), last.sequenceId))).toBe(true);
  });
});
