/** The sender with a channel that has no call for a step: done at once, counted apart, nothing sent. */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { graphClient } from '../../../lib/meta/graph/client.ts';
import { memoryLedger } from '../../../lib/platform/ledger.ts';
import { encodeStep, groupIdOf } from '../../../lib/queue/codec.ts';
import { processBatch } from '../../../lib/sender/consumer.ts';
import { queuedStep, senderTuning } from '../../support/factories.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const T0 = 1_700_000_000_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A local Graph that counts the calls it gets and answers each with a Send API success. */
const countingGraph = async () => {
  let calls = 0;
  const server = createServer((req, res) => {
    calls += 1;
    req.resume().on('end', () => res.end('{"recipient_id":"1"}'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls };
};

describe('sender: steps a channel makes no call for', () => {
  it('completes WhatsApp mark_seen and typing_off without any Graph call, as StepsSent with call: none', async () => {
    const graph = await countingGraph();
    const telemetry = memoryTelemetry();
    const deps = {
      graph: graphClient({
        baseUrl: graph.url,
        version: 'v25.0',
        accessToken: 'EAAwhatsapptoken00001',
        appSecret: 'app-secret-00000001',
        timeoutMs: 1_000,
      }),
      sqs: new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/steps.fifo',
      ledger: memoryLedger({ now: () => T0 }),
      now: () => T0,
      sleep: async () => {},
      telemetry,
      tuning: senderTuning,
    };
    const steps = [
      queuedStep({ channel: 'whatsapp', index: 0, count: 2, action: { sender_action: 'mark_seen' } }),
      queuedStep({ channel: 'whatsapp', index: 1, count: 2, action: { sender_action: 'typing_off' } }),
    ];
    const records = steps.map((s, i) => ({
      messageId: `msg-${i}`,
      receiptHandle: `rh-${i}`,
      body: encodeStep(s),
      attributes: { MessageGroupId: groupIdOf(s.pageId, s.psid), ApproximateReceiveCount: '1' },
    }));
    expect(await processBatch(records, deps)).toEqual({ batchItemFailures: [] });
    expect(metricTotal(telemetry.metrics, 'StepsSent', { action: 'mark_seen', call: 'none' })).toBe(1);
    expect(metricTotal(telemetry.metrics, 'StepsSent', { action: 'typing_off', call: 'none' })).toBe(1);
    expect(metricTotal(telemetry.metrics, 'StepsFailed')).toBe(0);
    expect(graph.calls()).toBe(0);
    await deps.graph.close();
  });
});
