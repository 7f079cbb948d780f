import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { producerDeps } from '../../../lib/queue/producer-wiring.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

describe('producerDeps', () => {
  const telemetry = memoryTelemetry();

  it('passes the queue, telemetry and the overridden client, sleep and jitter through', () => {
    const sqs = new SQSClient({ region: 'us-east-1' });
    const sleep = async () => {};
    const random = () => 0.5;
    expect(producerDeps('https://q/steps.fifo', telemetry, { sqs, sleep, random })).toEqual({
      sqs,
      queueUrl: 'https://q/steps.fifo',
      telemetry,
      sleep,
      random,
    });
  });

  it("creates its own SQS client and leaves sleep and jitter to the producer's defaults", () => {
    const deps = producerDeps('https://q/steps.fifo', telemetry, {});
    expect(deps.sqs).toBeInstanceOf(SQSClient);
    expect(Object.keys(deps).sort()).toEqual(['queueUrl', 'sqs', 'telemetry']);
  });
});
