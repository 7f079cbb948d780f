import { describe, expect, it } from 'vitest';
import {
  jumpHash,
  pairShards,
  queueNameOf,
  queueUrlOf,
  shardOf,
  shardOfSource,
  shardUrls,
} from '../../../lib/queue/shards.ts';

const groups = Array.from(
  { length: 20_000 },
  (_, i) => `104857600000001:${6_789_012_345_678_901 + i * 7919}`,
);

describe('shards', () => {
  it('one queue: every group on shard 0', () => {
    expect(groups.slice(0, 100).every((g) => shardOf(g, 1) === 0)).toBe(true);
  });

  it('spreads groups evenly (each of 4 shards within 5 % of a quarter)', () => {
    const counts = [0, 0, 0, 0];
    for (const g of groups) counts[shardOf(g, 4)] = (counts[shardOf(g, 4)] ?? 0) + 1;
    for (const c of counts) expect(Math.abs(c - groups.length / 4)).toBeLessThan(groups.length * 0.05);
  });

  it('growing N → M moves only (M − N) / M of the groups, each to a new shard', () => {
    for (const [n, m] of [
      [1, 2],
      [2, 4],
      [4, 5],
      [4, 8],
    ] as const) {
      const moved = groups.filter((g) => shardOf(g, n) !== shardOf(g, m));
      expect(moved.every((g) => shardOf(g, m) >= n)).toBe(true);
      expect(Math.abs(moved.length / groups.length - (m - n) / m)).toBeLessThan(0.02);
    }
  });

  it('is stable: the same shard on every call, and key 0 in bucket 0 for any N (its first jump is 2^31)', () => {
    expect(jumpHash(0n, 1000)).toBe(0);
    expect(jumpHash(1n, 1)).toBe(0);
    expect(shardOf('a:b', 8)).toBe(shardOf('a:b', 8));
  });

  it('routes a group to its shard URL; a record is answered on the queue its ARN names', () => {
    const urls = [
      'https://sqs.us-east-1.amazonaws.com/1/e-steps.fifo',
      'https://sqs.us-east-1.amazonaws.com/1/e-steps-s1.fifo',
    ];
    const g = groups.find((x) => shardOf(x, 2) === 1) ?? '';
    expect(queueUrlOf(urls, g)).toBe(urls[1]);
    const shards = pairShards(urls, ['https://sqs.us-east-1.amazonaws.com/1/e-steps-dlq.fifo']);
    expect(shardOfSource(shards, 'arn:aws:sqs:us-east-1:1:e-steps-s1.fifo')).toEqual({ queueUrl: urls[1] });
    expect(shardOfSource(shards, 'arn:aws:sqs:us-east-1:1:e-steps.fifo')?.dlqUrl).toMatch(/dlq/);
    expect(shardOfSource(shards, 'arn:aws:sqs:us-east-1:1:other.fifo')).toBeUndefined();
    expect(shardOfSource(shards, undefined)).toBeUndefined();
    expect(queueNameOf(urls[0] ?? '')).toBe('e-steps.fifo');
    expect(shardUrls('x', undefined)).toEqual(['x']);
    expect(shardUrls('x', ['y', 'z'])).toEqual(['y', 'z']);
  });
});
