import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeStep } from '../../../lib/queue/codec.ts';
import {
  dedupIdOf,
  enqueueSequence,
  MAX_BATCH_BYTES,
  type SequenceToEnqueue,
  splitIntoBatches,
} from '../../../lib/queue/producer.ts';
import { EnqueueError, isRetryableSdkError } from '../../../lib/queue/retry.ts';
import type { Step } from '../../../lib/queue/step.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const QUEUE_URL = 'http://127.0.0.1:1/000000000000/steps.fifo';
const sqsMock = mockClient(SQSClient);
const sleeps: number[] = [];

const deps = (extra: Partial<Parameters<typeof enqueueSequence>[0]> = {}) => ({
  sqs: new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
  queueUrl: QUEUE_URL,
  sleep: async (ms: number) => {
    sleeps.push(ms);
  },
  random: () => 0.5,
  ...extra,
});

const steps = (n: number): Step[] =>
  Array.from({ length: n }, (_, i) =>
    i === 0
      ? { action: { sender_action: 'mark_seen' as const }, delayMs: 0 }
      : i % 2 === 1
        ? { action: { sender_action: 'typing_on' as const }, delayMs: 500 * i, skippableAfterMs: 2000 }
        : { action: { message: { text: `reply ${i} 👋` } }, delayMs: 1000 },
  );

const seq = (n: number, over: Partial<SequenceToEnqueue> = {}): SequenceToEnqueue => ({
  pageId: '104857600000001',
  psid: '6789012345678901',
  sequenceId: 'm_abc',
  steps: steps(n),
  plannedAt: 1_700_000_000_000,
  ...over,
});

const entriesOf = (call: number): SendMessageBatchRequestEntry[] =>
  sqsMock.commandCalls(SendMessageBatchCommand)[call]?.args[0].input.Entries ?? [];

/** SQS's answer to a batch whose entries all succeeded. */
const allSuccessful = (input: { Entries: SendMessageBatchRequestEntry[] }) => ({
  Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `msg-${e.Id}`, MD5OfMessageBody: 'x' })),
  Failed: [],
});

/** Answers every batch with all entries successful. */
const acceptAll = () => sqsMock.on(SendMessageBatchCommand).callsFake(allSuccessful);

beforeEach(() => {
  sqsMock.reset();
  sleeps.length = 0;
});

describe('enqueueSequence', () => {
  it('sends the whole sequence in ONE batch, in step order, in the user group, without DelaySeconds', async () => {
    acceptAll();
    const s = seq(5);
    const result = await enqueueSequence(deps(), s);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    const entries = entriesOf(0);
    expect(entries.map((e) => e.Id)).toEqual(['0', '1', '2', '3', '4']);
    expect(new Set(entries.map((e) => e.MessageGroupId))).toEqual(
      new Set(['104857600000001:6789012345678901']),
    );
    expect(entries.map((e) => e.MessageDeduplicationId)).toEqual([0, 1, 2, 3, 4].map((i) => `m_abc:${i}`));
    for (const e of entries) expect(e).not.toHaveProperty('DelaySeconds');
    expect(result).toEqual({
      groupId: '104857600000001:6789012345678901',
      messageIds: ['msg-0', 'msg-1', 'msg-2', 'msg-3', 'msg-4'],
    });
  });

  it('encodes each step with index, count and dueAt = plannedAt + cumulative delays', async () => {
    acceptAll();
    const s = seq(4);
    await enqueueSequence(deps(), s);
    let due = s.plannedAt;
    entriesOf(0).forEach((entry, i) => {
      const decoded = decodeStep(entry.MessageBody ?? '');
      if (!decoded.ok) throw new Error(decoded.reason);
      due += s.steps[i]!.delayMs;
      expect(decoded.step).toEqual({
        v: 1,
        pageId: s.pageId,
        psid: s.psid,
        sequenceId: 'm_abc',
        index: i,
        count: 4,
        plannedAt: s.plannedAt,
        dueAt: due,
        ...s.steps[i],
      });
    });
  });

  it('splits a sequence above 10 steps into consecutive in-order batches', async () => {
    acceptAll();
    await enqueueSequence(deps(), seq(23));
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    const ids = calls.flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => e.MessageDeduplicationId));
    expect(ids).toEqual(Array.from({ length: 23 }, (_, i) => `m_abc:${i}`));
  });

  it('enqueues nothing for an empty sequence', async () => {
    acceptAll();
    expect(await enqueueSequence(deps(), seq(0))).toEqual({
      groupId: '104857600000001:6789012345678901',
      messageIds: [],
    });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('re-sends from the first failed entry onward with the same dedup ids after Failed[] on HTTP 200', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: 'x' }],
        Failed: [
          { Id: '1', Code: 'InternalError', SenderFault: false },
          { Id: '2', Code: 'InternalError', SenderFault: false },
        ],
      })
      .callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => ({
        Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `b${e.Id}`, MD5OfMessageBody: 'x' })),
      }));
    const telemetry = memoryTelemetry();
    const result = await enqueueSequence(deps({ telemetry }), seq(3));
    expect(entriesOf(1).map((e) => e.MessageDeduplicationId)).toEqual(['m_abc:1', 'm_abc:2']);
    expect(entriesOf(1)).toEqual(entriesOf(0).slice(1));
    expect(result.messageIds).toEqual(['a', 'b1', 'b2']);
    expect(sleeps).toHaveLength(1);
    expect(metricTotal(telemetry.metrics, 'EnqueueOutOfOrder')).toBe(0);
  });

  it('reports (but cannot undo) a later entry accepted ahead of an earlier failed one', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [
          { Id: '0', MessageId: 'a', MD5OfMessageBody: 'x' },
          { Id: '2', MessageId: 'c', MD5OfMessageBody: 'x' },
        ],
        Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
      })
      // The copy of entry 2 is acknowledged again (same dedup id), as SQS does.
      .resolves({
        Successful: [
          { Id: '1', MessageId: 'b', MD5OfMessageBody: 'x' },
          { Id: '2', MessageId: 'c', MD5OfMessageBody: 'x' },
        ],
      });
    const telemetry = memoryTelemetry();
    await enqueueSequence(deps({ telemetry }), seq(3));
    // From the first failure onward: entry 2 is sent again; its dedup id makes SQS drop the copy.
    expect(entriesOf(1).map((e) => e.Id)).toEqual(['1', '2']);
    expect(metricTotal(telemetry.metrics, 'EnqueueOutOfOrder')).toBe(1);
    expect(telemetry.logs.some((l) => l.level === 'warn')).toBe(true);
  });

  it('does not retry a SenderFault entry and throws a typed error without bodies', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [
        { Id: '0', Code: 'InvalidMessageContents', SenderFault: true, Message: 'body reply 2 👋 bad' },
      ],
    });
    const error = await enqueueSequence(deps(), seq(3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnqueueError);
    expect(error).toMatchObject({ reason: 'rejected', retryable: false });
    expect((error as Error).message).toContain('InvalidMessageContents');
    expect((error as Error).message).not.toContain('reply');
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  it('sends again an entry SQS listed neither as successful nor as failed, never counting it enqueued', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: 'x' }] })
      .callsFake(allSuccessful);
    expect((await enqueueSequence(deps(), seq(2))).messageIds).toEqual(['a', 'msg-1']);
    expect(entriesOf(1).map((e) => e.Id)).toEqual(['1']);
  });

  it('gives up on entries that keep failing after maxAttempts', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });
    const error = await enqueueSequence(deps({ maxAttempts: 3 }), seq(1)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'EnqueueError', reason: 'failed_entries', retryable: true });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });

  it('retries throttling with jittered, growing backoff, then throws EnqueueError', async () => {
    const throttled = Object.assign(new Error('Rate exceeded for queue steps.fifo'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    sqsMock.on(SendMessageBatchCommand).rejects(throttled);
    const error = await enqueueSequence(deps({ maxAttempts: 4 }), seq(2)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'EnqueueError', reason: 'sdk_error', retryable: true });
    expect((error as Error).message).toBe('SendMessageBatch failed after 4 attempts: ThrottlingException');
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(4);
    expect(sleeps).toEqual([50, 100, 200]); // random 0.5 × 100·2^n ms
  });

  it('recovers when a 5xx is followed by success', async () => {
    const unavailable = Object.assign(new Error('unavailable'), {
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 },
    });
    sqsMock.on(SendMessageBatchCommand).rejectsOnce(unavailable).callsFake(allSuccessful);
    expect(await enqueueSequence(deps(), seq(2))).toEqual({
      groupId: '104857600000001:6789012345678901',
      messageIds: ['msg-0', 'msg-1'],
    });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
    expect(entriesOf(1)).toEqual(entriesOf(0)); // the same batch again, same dedup ids
    expect(sleeps).toHaveLength(1);
  });

  it('does not retry client errors such as a missing queue', async () => {
    const missing = Object.assign(new Error('The specified queue does not exist'), {
      name: 'QueueDoesNotExist',
      $metadata: { httpStatusCode: 400 },
    });
    sqsMock.on(SendMessageBatchCommand).rejects(missing);
    await expect(enqueueSequence(deps(), seq(2))).rejects.toMatchObject({
      reason: 'sdk_error',
      retryable: false,
    });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  it('rejects an invalid step before calling SQS, naming the field', async () => {
    acceptAll();
    const bad = seq(1, { steps: [{ action: { sender_action: 'typing_on' }, delayMs: -1 }] });
    const error = await enqueueSequence(deps(), bad).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'invalid_step' });
    expect((error as Error).message).toContain('delayMs');
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});

describe('splitIntoBatches', () => {
  const entry = (id: number, size: number) => ({ Id: String(id), MessageBody: 'x'.repeat(size) });

  it('keeps every batch within 10 entries and 256 KiB, in order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 100_000 }), { maxLength: 40 }), (sizes) => {
        const batches = splitIntoBatches(sizes.map((s, i) => entry(i, s)));
        expect(batches.flat().map((e) => e.Id)).toEqual(sizes.map((_, i) => String(i)));
        for (const b of batches) {
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(10);
          expect(b.reduce((n, e) => n + e.MessageBody.length, 0)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
        }
      }),
    );
  });

  it('refuses a single body above the limit', () => {
    expect(() => splitIntoBatches([entry(0, MAX_BATCH_BYTES + 1)])).toThrow(EnqueueError);
  });
});

describe('dedupIdOf', () => {
  it('is sequenceId:index when SQS accepts it, a sha256 hex otherwise', () => {
    expect(dedupIdOf('m_abc', 3)).toBe('m_abc:3');
    expect(dedupIdOf('x'.repeat(200), 0)).toMatch(/^[0-9a-f]{64}$/);
    expect(dedupIdOf('mid with space', 0)).toMatch(/^[0-9a-f]{64}$/);
    expect(dedupIdOf('x'.repeat(200), 0)).not.toBe(dedupIdOf('x'.repeat(200), 1));
  });

  it('is always a valid, deterministic SQS dedup id, distinct per index (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300 }), fc.nat(100), (sequenceId, index) => {
        const id = dedupIdOf(sequenceId, index);
        expect(id).toMatch(/^[\x21-\x7e]{1,128}$/);
        expect(dedupIdOf(sequenceId, index)).toBe(id);
        expect(dedupIdOf(sequenceId, index + 1)).not.toBe(id);
      }),
    );
  });
});

describe('isRetryableSdkError', () => {
  it('retries throttling, server faults and network resets, not client faults', () => {
    expect(isRetryableSdkError({ name: 'RequestThrottled' })).toBe(true);
    expect(isRetryableSdkError({ name: 'X', $metadata: { httpStatusCode: 500 } })).toBe(true);
    expect(isRetryableSdkError({ name: 'X', $fault: 'server' })).toBe(true);
    expect(isRetryableSdkError(Object.assign(new Error('socket'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableSdkError({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } })).toBe(
      false,
    );
    expect(isRetryableSdkError('boom')).toBe(false);
  });
});
