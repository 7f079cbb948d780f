/** The sender with a channel that has no call for a step: done at once, counted apart, nothing sent. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { MockAgent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { processBatch } from '../../../../lib/delivery/consumer.ts';
import { graphClient } from '../../../../lib/delivery/graph.ts';
import { memoryLedger } from '../../../../lib/platform/ledger.ts';
import { encodeStep, groupIdOf } from '../../../../lib/queue/codec.ts';
import { queuedStep, senderTuning } from '../../../support/factories.ts';
import { memoryTelemetry, metricTotal } from '../../../support/telemetry.ts';

const T0 = 1_700_000_000_000;
const agents: MockAgent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close();
});

describe('sender: steps a channel makes no call for', () => {
  it('completes WhatsApp mark_seen and typing_off without any Graph call, as StepsSent with call: none', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect(); // any real call would fail the step: none may be made
    agents.push(agent);
    const telemetry = memoryTelemetry();
    const deps = {
      graph: graphClient({
        baseUrl: 'https://graph.facebook.com',
        version: 'v25.0',
        accessToken: 'EAAwhatsapptoken00001',
        appSecret: 'app-secret-00000001',
        timeoutMs: 1_000,
        dispatcher: agent,
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
  });
});
