/**
 * The responder must stop thinking before Lambda stops it: the fallback and `typing_off` go out while the
 * function still has time to enqueue them and delete the turn (lib/responder/turn.ts thinkingDeadline).
 * Lambda ends an invocation at its timeout whatever it is doing (AWS Lambda Developer Guide, "Configure
 * Lambda function timeout"): a turn cut there leaves the user with a bubble that simply vanishes.
 */
import { describe, expect, it } from 'vitest';
import type { Responder } from '../../../lib/bots/responder.ts';
import { loadPlanConfig } from '../../../lib/pacing/config.ts';
import type { QueueRecord } from '../../../lib/queue/consumer/record.ts';
import { encodeInbound } from '../../../lib/queue/inbound-codec.ts';
import type { SequenceToEnqueue } from '../../../lib/queue/producer.ts';
import { turnPolicySchema } from '../../../lib/responder/config.ts';
import { thinkingDeadline } from '../../../lib/responder/turn.ts';
import { processTurns } from '../../../lib/responder/turn-consumer.ts';
import { inboundEvent } from '../../support/factories.ts';
import { fakeClock } from '../../support/fake-clock.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const T0 = 1_700_000_000_000;
const RESERVE_MS = 5_000;
const policy = turnPolicySchema.parse({ RESPONDER_MAX_THINKING_MS: '100000' });

describe('thinkingDeadline', () => {
  it("is the policy's maximum when the function has time to spare", () => {
    expect(thinkingDeadline(T0, T0 + 900_000, policy)).toBe(T0 + 100_000);
  });

  it("keeps a reserve before the function's own deadline when that comes first", () => {
    expect(thinkingDeadline(T0, T0 + 30_000, policy)).toBe(T0 + 30_000 - RESERVE_MS);
    expect(thinkingDeadline(T0, T0 + 30_000, policy, 2_000)).toBe(T0 + 28_000);
  });

  it("is the policy's maximum when the function's deadline is unknown", () => {
    expect(thinkingDeadline(T0, undefined, policy)).toBe(T0 + 100_000);
  });
});

/** One turn of a responder that thinks for ten minutes, far past the policy (100 s) and the function. */
const runSlowTurn = async (functionDeadline: number, fallback?: string) => {
  const clock = fakeClock(T0);
  const enqueued: { at: number; action: string }[] = [];
  const responder: Responder = async () => {
    await clock.wait(600_000);
    return [{ message: { text: 'too late' } }];
  };
  const receivedAt = T0 - 60_000;
  const record: QueueRecord = {
    messageId: 'msg-a',
    receiptHandle: 'rh-a',
    body: encodeInbound({ v: 1, event: inboundEvent({ eventId: 'a', mid: 'a' }), receivedAt }),
    attributes: { MessageGroupId: 'PAGE:USER', ApproximateReceiveCount: '1' },
  };
  const result = await processTurns([record], {
    responder,
    enqueue: async (seq: SequenceToEnqueue) => {
      for (const s of seq.steps) enqueued.push({ at: clock.now(), action: JSON.stringify(s.action) });
    },
    planConfig: loadPlanConfig({}),
    ...(fallback ? { fallback: { message: { text: fallback } } } : {}),
    now: clock.now,
    sleep: clock.sleep,
    telemetry: memoryTelemetry(),
    sqs: { send: async () => ({}) } as never,
    queueUrl: 'https://sqs/responder.fifo',
    policy,
    functionDeadline,
  });
  expect(result.batchItemFailures).toEqual([]);
  return { enqueued, endedAt: clock.now() };
};

describe('processTurns under a function deadline', () => {
  const functionDeadline = T0 + 30_000;

  it('sends the fallback with the reserve still left when Lambda would end before the policy', async () => {
    const { enqueued, endedAt } = await runSlowTurn(functionDeadline, 'Sorry, that took too long.');
    const last = enqueued.at(-1);
    expect(last?.action).toContain('Sorry, that took too long.');
    expect(last?.at).toBe(functionDeadline - RESERVE_MS);
    expect(endedAt).toBeLessThan(functionDeadline);
  });

  it('switches typing off with the reserve still left when there is no fallback', async () => {
    const { enqueued, endedAt } = await runSlowTurn(functionDeadline);
    expect(enqueued.at(-1)).toEqual({
      at: functionDeadline - RESERVE_MS,
      action: '{"sender_action":"typing_off"}',
    });
    // The bubble was kept alive until then (a refresh at 18 s), never past the function's deadline.
    expect(enqueued.filter((e) => e.action.includes('typing_on')).length).toBeGreaterThan(1);
    expect(endedAt).toBeLessThan(functionDeadline);
  });
});
