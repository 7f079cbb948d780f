/**
 * Many users' messages in as few SendMessageBatch calls as FIFO allows: a Meta webhook body can carry up to
 * 1,000 events (Meta batches them under load), and one call per sequence meant 1,000 concurrent calls, most of
 * them queued for a socket (the SDK's 50 per host) — 6.1 s to acknowledge on the local stack.
 *
 * A batch may mix message groups: "For a FIFO queue, multiple messages within a single batch are enqueued in
 * the order they are sent" (AWS SQS API Reference, SendMessageBatch), and FIFO order is per group. A group
 * that does not fit the rest of a batch is split: its head fills the batch, its tail waits for the next
 * round, so a group's later entries are never sent before its earlier ones are accepted. Within a round
 * batches go out concurrently (bounded); each round sends only full batches but the last, whose partial
 * batch is kept back while tails remain — so a queue gets exactly ceil(entries / 10) calls.
 *
 * Pure packing only; lib/queue/batch-producer.ts sends the rounds.
 */
import type { SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import type { Telemetry } from '../platform/telemetry.ts';
import { MAX_BATCH_BYTES } from './producer.ts';
import type { RetryOptions } from './retry.ts';

/** What must be accepted whole, in one group of one queue; units of one group are enqueued in input order. */
export type Unit = {
  queueUrl: string;
  groupId: string;
  /** Bodies with their dedup ids, in order (Id is assigned per batch). */
  entries: readonly Omit<SendMessageBatchRequestEntry, 'Id'>[];
};

export type BatchProducerDeps = RetryOptions & {
  sqs: Pick<SQSClient, 'send'>;
  /** Batches in flight at once (SDK sockets and SQS's per-queue TPS are the limits). */
  concurrency?: number;
  telemetry?: Pick<Telemetry, 'log' | 'metric'>;
};

/** One entry on its way: where it comes from and its size. */
export type Pending = {
  unit: number;
  entry: Omit<SendMessageBatchRequestEntry, 'Id'> & { MessageBody: string };
  bytes: number;
};

/** A group's entries not yet sent, in order. */
export type Lane = { queueUrl: string; groupId: string; pending: Pending[] };

const MAX_BATCH_ENTRIES = 10;

/** Lanes in first-appearance order: one per (queue, group), its units' entries concatenated. */
export const lanesOf = (units: readonly Unit[]): Lane[] => {
  const lanes = new Map<string, Lane>();
  units.forEach((unit, index) => {
    const key = `${unit.queueUrl}\n${unit.groupId}`;
    const lane = lanes.get(key) ?? { queueUrl: unit.queueUrl, groupId: unit.groupId, pending: [] };
    lanes.set(key, lane);
    for (const entry of unit.entries) {
      const body = entry.MessageBody ?? '';
      lane.pending.push({
        unit: index,
        entry: { ...entry, MessageBody: body },
        bytes: Buffer.byteLength(body, 'utf8'),
      });
    }
  });
  return [...lanes.values()];
};

/** A batch: the lanes' slices it carries, each slice contiguous and in order. */
export type Batch = { queueUrl: string; slices: { lane: Lane; items: Pending[] }[] };

const sizeOf = (batch: Batch) => batch.slices.reduce((n, s) => n + s.items.length, 0);
const bytesOf = (batch: Batch) =>
  batch.slices.reduce((n, s) => n + s.items.reduce((b, p) => b + p.bytes, 0), 0);

/** How many of a lane's next entries fit a batch's remaining room (entries and bytes). */
const fitting = (batch: Batch, pending: readonly Pending[]): number => {
  let room = MAX_BATCH_ENTRIES - sizeOf(batch);
  let bytes = MAX_BATCH_BYTES - bytesOf(batch);
  let n = 0;
  for (const p of pending) {
    if (room === 0 || p.bytes > bytes) break;
    room -= 1;
    bytes -= p.bytes;
    n += 1;
  }
  return n;
};

/**
 * One round for one queue: full batches of whole lanes and heads; a lane split here sends its tail next
 * round. The last partial batch is sent only when no lane was split (the queue's final round).
 */
export const packRound = (queueUrl: string, lanes: readonly Lane[]): Batch[] => {
  const batches: Batch[] = [];
  let current: Batch = { queueUrl, slices: [] };
  let split = false;
  for (const lane of lanes) {
    if (lane.pending.length === 0) continue;
    let n = fitting(current, lane.pending);
    if (n === 0 && sizeOf(current) > 0) {
      batches.push(current);
      current = { queueUrl, slices: [] };
      n = fitting(current, lane.pending);
    }
    // A single entry above the byte limit: alone, SQS will refuse it and the lane fails (sender fault).
    const take = Math.max(1, n);
    current.slices.push({ lane, items: lane.pending.slice(0, take) });
    if (take < lane.pending.length) split = true;
    if (take < lane.pending.length || sizeOf(current) === MAX_BATCH_ENTRIES) {
      batches.push(current);
      current = { queueUrl, slices: [] };
    }
  }
  if (sizeOf(current) > 0 && !split) batches.push(current);
  return batches;
};
