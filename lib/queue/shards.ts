/**
 * Queue shards: N steps FIFO queues (and N responder FIFO queues) instead of one, because one FIFO queue
 * holds at most 120,000 in-flight messages (AWS SQS Developer Guide, "Amazon SQS message quotas": in-flight
 * messages, FIFO) and each conversation waiting out a pause holds one (docs/scale.md). A user's messages all
 * go to one shard, chosen from the message group id, so FIFO order per user holds as on one queue.
 *
 * The hash is jump consistent hashing (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash
 * Algorithm", 2014): going from N to M > N shards moves only (M − N) / M of the users, each to one of the
 * new shards, so a resize touches as few conversations as possible (docs/scale.md, "Changing N").
 *
 * A consumer never recomputes the hash: it answers SQS on the queue a record came from (the record's
 * event source ARN), so records still in a queue the hash no longer picks are handled right.
 */
import { createHash } from 'node:crypto';

const MASK_64 = (1n << 64n) - 1n;
const JUMP_MULTIPLIER = 2862933555777941757n;

/** Jump consistent hash of a 64-bit key into [0, buckets). */
export const jumpHash = (key: bigint, buckets: number): number => {
  let k = key & MASK_64;
  let chosen = -1;
  let next = 0;
  while (next < buckets) {
    chosen = next;
    k = (k * JUMP_MULTIPLIER + 1n) & MASK_64;
    next = Math.floor((chosen + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return chosen;
};

/** The shard of a message group among `shards` queues: stable across processes and deploys. */
export const shardOf = (groupId: string, shards: number): number => {
  if (shards <= 1) return 0;
  const digest = createHash('sha256').update(groupId).digest();
  return jumpHash(digest.readBigUInt64BE(0), shards);
};

/** The queue of a message group: one of `urls` by shardOf. */
export const queueUrlOf = (urls: readonly string[], groupId: string): string => {
  const url = urls[shardOf(groupId, urls.length)];
  if (url === undefined) throw new Error('no queue URL configured');
  return url;
};

/**
 * The shard list of a function's environment: the comma list when set (shard 0 first), else the one URL.
 * Blank items are dropped, so a trailing comma is harmless.
 */
export const shardUrls = (one: string, list: readonly string[] | undefined): string[] =>
  list !== undefined && list.length > 0 ? [...list] : [one];

/** The last segment of a queue URL (`…/123456789012/name.fifo`) or ARN (`arn:aws:sqs:…:name.fifo`). */
export const queueNameOf = (urlOrArn: string): string => urlOrArn.split(/[/:]/).pop() ?? '';

/** A shard's queue and its dead-letter queue, as a consumer needs them. */
export type ShardQueue = { queueUrl: string; dlqUrl?: string };

/**
 * The shard a record came from, by the name in its event source ARN; undefined when the record names none
 * or a queue this function was not told about (then the caller's default queue is used).
 */
export const shardOfSource = (
  shards: readonly ShardQueue[],
  sourceArn: string | undefined,
): ShardQueue | undefined => {
  if (sourceArn === undefined || sourceArn === '') return undefined;
  const name = queueNameOf(sourceArn);
  return shards.find((s) => queueNameOf(s.queueUrl) === name);
};

/** Shard i's queue and DLQ from two parallel lists (the DLQ list may be empty: no DLQ). */
export const pairShards = (queues: readonly string[], dlqs: readonly string[]): ShardQueue[] =>
  queues.map((queueUrl, i) => {
    const dlqUrl = dlqs[i];
    return dlqUrl === undefined ? { queueUrl } : { queueUrl, dlqUrl };
  });

/**
 * A consumer's shards from its configuration: the lists when given (QUEUE_URLS / DLQ_URLS), else the one
 * queue and its one DLQ — a single-queue deployment keeps its DLQ.
 */
export const shardQueuesOf = (
  queue: { url: string; urls: readonly string[] | undefined },
  dlq: { url: string | undefined; urls: readonly string[] | undefined },
): ShardQueue[] =>
  pairShards(
    shardUrls(queue.url, queue.urls),
    dlq.urls !== undefined && dlq.urls.length > 0 ? dlq.urls : dlq.url === undefined ? [] : [dlq.url],
  );
