import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { coldStart } from '../../../lib/platform/runtime.ts';
import { memoryTelemetry } from '../../../lib/platform/telemetry.ts';
import { producerDeps } from '../../../lib/queue/producer-wiring.ts';

describe('coldStart', () => {
  it('builds once and hands every call, concurrent or later, the same result', async () => {
    let builds = 0;
    const deps = coldStart(async () => ({ build: ++builds }));
    const [a, b] = await Promise.all([deps(), deps()]);
    const c = await deps();
    expect(builds).toBe(1);
    expect(a).toBe(b);
    expect(c).toBe(a);
  });

  it('forgets a failed build, so the next call retries it', async () => {
    let builds = 0;
    const deps = coldStart(async () => {
      builds += 1;
      if (builds === 1) throw new Error('QUEUE_URL is required');
      return builds;
    });
    const first = await Promise.allSettled([deps(), deps()]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(builds).toBe(1); // callers of the same failing build share it
    await expect(deps()).resolves.toBe(2);
    await expect(deps()).resolves.toBe(2);
    expect(builds).toBe(2);
  });
});

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
