import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { producerDeps, sqsOnFirstUse } from '../../../lib/queue/producer-wiring.ts';
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

describe('sqsOnFirstUse', () => {
  const sqsMock = mockClient(SQSClient);
  beforeEach(() => sqsMock.reset());

  it('hands each call to one client, built on the first, with its result or its error', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).resolvesOnce({}).rejectsOnce(new Error('throttled'));
    const sqs = sqsOnFirstUse();
    expect(sqsMock.calls()).toHaveLength(0);
    const input = { QueueUrl: 'https://q/steps.fifo', ReceiptHandle: 'r', VisibilityTimeout: 3 };
    await expect(sqs.send(new ChangeMessageVisibilityCommand(input))).resolves.toEqual({});
    await expect(sqs.send(new ChangeMessageVisibilityCommand(input))).rejects.toThrow('throttled');
    const calls = sqsMock.commandCalls(ChangeMessageVisibilityCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([input, input]);
    // One client for both calls: the same instance handled each (aws-sdk-client-mock records `this`).
    expect(calls[0]?.thisValue).toBe(calls[1]?.thisValue);
    expect(calls[0]?.thisValue).toBeInstanceOf(SQSClient);
  });
});
