import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { lanesOf, packRound, type Unit } from '../../../lib/queue/batch-pack.ts';
import { enqueueUnits } from '../../../lib/queue/batch-producer.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';

const Q1 = 'http://127.0.0.1:1/000000000000/steps.fifo';
const Q2 = 'http://127.0.0.1:1/000000000000/steps-s1.fifo';
const sqsMock = mockClient(SQSClient);
const client = () =>
  new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

/** Units: for each (queue, group, size) one unit whose bodies name group and position. */
const unitsOf = (specs: readonly [string, string, number][]): Unit[] => {
  const seen = new Map<string, number>();
  return specs.map(([queueUrl, groupId, size]) => ({
    queueUrl,
    groupId,
    entries: Array.from({ length: size }, () => {
      const n = seen.get(groupId) ?? 0;
      seen.set(groupId, n + 1);
      return {
        MessageBody: `${groupId}#${n}`,
        MessageGroupId: groupId,
        MessageDeduplicationId: `${groupId}:${n}`,
      };
    }),
  }));
};

type Stored = { queueUrl: string; body: string };

/**
 * An SQS that answers after a random delay (so concurrent batches finish in any order) and stores what it
 * accepts in arrival order; `fail` picks entries to fail on a given attempt.
 */
const fakeQueue = (
  random: () => number,
  fail: (entry: SendMessageBatchRequestEntry, attempt: number) => BatchResultErrorEntry | undefined = () =>
    undefined,
) => {
  const stored: Stored[] = [];
  const attempts = new Map<string, number>();
  const calls: { queueUrl: string; size: number }[] = [];
  sqsMock
    .on(SendMessageBatchCommand)
    .callsFake(async (input: { QueueUrl: string; Entries: SendMessageBatchRequestEntry[] }) => {
      calls.push({ queueUrl: input.QueueUrl, size: input.Entries.length });
      await new Promise((r) => setTimeout(r, Math.floor(random() * 5)));
      const failed: BatchResultErrorEntry[] = [];
      const ok: { Id: string; MessageId: string; MD5OfMessageBody: string }[] = [];
      for (const e of input.Entries) {
        const attempt = (attempts.get(e.MessageDeduplicationId ?? '') ?? 0) + 1;
        attempts.set(e.MessageDeduplicationId ?? '', attempt);
        const f = fail(e, attempt);
        if (f) failed.push({ ...f, Id: e.Id });
        else {
          // Dedup: an entry accepted before is acknowledged, not stored twice.
          if (!stored.some((s) => s.body === e.MessageBody))
            stored.push({ queueUrl: input.QueueUrl, body: e.MessageBody ?? '' });
          ok.push({ Id: e.Id ?? '', MessageId: 'm', MD5OfMessageBody: 'x' });
        }
      }
      return { Successful: ok, Failed: failed };
    });
  return { stored, calls };
};

/** Each group's stored bodies, in the order SQS stored them. */
const byGroup = (stored: readonly Stored[]) => {
  const out = new Map<string, string[]>();
  for (const s of stored) {
    const group = s.body.split('#')[0] ?? '';
    out.set(group, [...(out.get(group) ?? []), s.body]);
  }
  return out;
};

const seeded = (seed: number) => {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
};

describe('enqueueUnits', () => {
  beforeEach(() => sqsMock.reset());

  it('1,000 three-step preludes of 1,000 users: exactly ceil(3000 / 10) calls, every batch full', async () => {
    const { stored, calls } = fakeQueue(seeded(1));
    const units = unitsOf(
      Array.from({ length: 1000 }, (_, i) => [Q1, `u${i}`, 3] as [string, string, number]),
    );
    const failed = await enqueueUnits({ sqs: client(), sleep: async () => {} }, units);
    expect(failed.size).toBe(0);
    expect(calls).toHaveLength(300);
    expect(calls.every((c) => c.size === 10)).toBe(true);
    expect(stored).toHaveLength(3000);
  });

  it('keeps each group in order and sends ceil(entries / 10) calls per queue, whatever the mix', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.constantFrom(Q1, Q2), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 14 })),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        fc.integer(),
        async (raw, seed) => {
          sqsMock.reset();
          // A group lives on one queue (its shard).
          const specs = raw.map(
            ([, g, n]) => [g % 2 === 0 ? Q1 : Q2, `g${g}`, n] as [string, string, number],
          );
          const { stored, calls } = fakeQueue(seeded(seed));
          const failed = await enqueueUnits(
            { sqs: client(), sleep: async () => {}, concurrency: 4 },
            unitsOf(specs),
          );
          expect(failed.size).toBe(0);
          for (const [group, bodies] of byGroup(stored))
            expect(bodies).toEqual(bodies.map((_, i) => `${group}#${i}`));
          for (const q of [Q1, Q2]) {
            const entries = specs.filter((s) => s[0] === q).reduce((n, s) => n + s[2], 0);
            expect(calls.filter((c) => c.queueUrl === q)).toHaveLength(Math.ceil(entries / 10));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a sender fault fails that unit and the group's later units only; other groups in the batch are stored", async () => {
    const { stored } = fakeQueue(seeded(2), (e) =>
      e.MessageBody === 'b#1' ? { Id: '', Code: 'InvalidParameterValue', SenderFault: true } : undefined,
    );
    const units = unitsOf([
      [Q1, 'a', 2],
      [Q1, 'b', 2],
      [Q1, 'c', 2],
      [Q1, 'b', 1],
    ]);
    const telemetry = memoryTelemetry();
    const failed = await enqueueUnits({ sqs: client(), sleep: async () => {}, telemetry }, units);
    expect([...failed].sort()).toEqual([1, 3]);
    expect(byGroup(stored).get('a')).toEqual(['a#0', 'a#1']);
    expect(byGroup(stored).get('c')).toEqual(['c#0', 'c#1']);
    // b#2 rode in the same call and SQS took it behind the refused b#1: reported, never re-sent.
    expect(byGroup(stored).get('b')).toEqual(['b#0', 'b#2']);
    expect(metricTotal(telemetry.metrics, 'EnqueueOutOfOrder')).toBe(1);
  });

  it('re-sends a throttled entry with the rest of its group, same dedup ids, order kept', async () => {
    const telemetry = memoryTelemetry();
    const { stored } = fakeQueue(seeded(3), (e, attempt) =>
      e.MessageBody === 'a#1' && attempt === 1
        ? { Id: '', Code: 'ThrottlingException', SenderFault: false }
        : undefined,
    );
    const units = unitsOf([
      [Q1, 'a', 4],
      [Q1, 'b', 3],
    ]);
    const failed = await enqueueUnits({ sqs: client(), sleep: async () => {}, telemetry }, units);
    expect(failed.size).toBe(0);
    // a#2 and a#3 were accepted behind the failed a#1: reported, since SQS cannot put a#1 back before them.
    expect(metricTotal(telemetry.metrics, 'EnqueueOutOfOrder')).toBe(2);
    expect(byGroup(stored).get('b')).toEqual(['b#0', 'b#1', 'b#2']);
    expect(metricTotal(telemetry.metrics, 'EnqueueRetries')).toBe(1);
  });

  it('fails every group of a batch whose call keeps throwing, after the policy’s attempts', async () => {
    let calls = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(async () => {
      calls += 1;
      throw Object.assign(new Error('slow down'), { name: 'ThrottlingException', $retryable: {} });
    });
    const failed = await enqueueUnits(
      { sqs: client(), sleep: async () => {}, maxAttempts: 3 },
      unitsOf([
        [Q1, 'a', 1],
        [Q1, 'b', 1],
      ]),
    );
    expect([...failed].sort()).toEqual([0, 1]);
    expect(calls).toBe(3);
  });
});

describe('packRound', () => {
  it('splits a group that does not fit: its head fills the batch, its tail waits for the next round', () => {
    const lanes = lanesOf(
      unitsOf([
        [Q1, 'a', 8],
        [Q1, 'b', 5],
        [Q1, 'c', 1],
      ]),
    );
    const round = packRound(Q1, lanes);
    // [a×8, b×2] full; then [b? no — b's tail waits] [c×1] kept back (a partial batch while a tail waits).
    expect(round.map((b) => b.slices.map((s) => `${s.lane.groupId}×${s.items.length}`))).toEqual([
      ['a×8', 'b×2'],
    ]);
  });
});
