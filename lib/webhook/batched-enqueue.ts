/**
 * All the events of one webhook body enqueued together: every prelude on the steps queues first, then every
 * event on the responder queues, each phase in as few SendMessageBatch calls as FIFO allows
 * (lib/queue/batch-producer.ts). Preludes first, as one event at a time did: a responder must not be able to
 * enqueue a reply ahead of the prelude (seen, typing) in the user's group.
 *
 * One user's events stay in arrival order, and an event that could not be enqueued holds back that user's
 * later events (they would land ahead of it on Meta's re-delivery); other users are unaffected.
 */

import type { BatchProducerDeps, Unit } from '../queue/batch-pack.ts';
import { enqueueUnits } from '../queue/batch-producer.ts';
import { groupIdOf } from '../queue/codec.ts';
import { encodeInbound } from '../queue/inbound-codec.ts';
import { dedupIdOf, entriesOf } from '../queue/producer.ts';
import { queueUrlOf } from '../queue/shards.ts';
import type { PlannedEvent } from './webhook.ts';

export type BatchedEnqueueDeps = {
  producer: BatchProducerDeps;
  /** Steps queue shards (shard 0 first). */
  stepsQueues: readonly string[];
  /** Responder queue shards (shard 0 first). */
  responderQueues: readonly string[];
};

const groupOf = (p: PlannedEvent) => groupIdOf(p.inbound.event.pageId, p.inbound.event.psid);

/** Adds to `failed` every event of a user after one of theirs that failed. */
const holdLater = (events: readonly PlannedEvent[], failed: Set<number>): Set<number> => {
  const stopped = new Set<string>();
  events.forEach((p, i) => {
    const group = groupOf(p);
    if (stopped.has(group)) failed.add(i);
    if (failed.has(i)) stopped.add(group);
  });
  return failed;
};

/** Units of one phase for the events not failed yet; an event whose unit cannot be built fails here. */
const unitsOf = (
  events: readonly PlannedEvent[],
  failed: Set<number>,
  build: (p: PlannedEvent, group: string) => Unit | undefined,
): { units: Unit[]; owners: number[] } => {
  const units: Unit[] = [];
  const owners: number[] = [];
  events.forEach((p, i) => {
    if (failed.has(i)) return;
    try {
      const unit = build(p, groupOf(p));
      if (unit === undefined) return;
      units.push(unit);
      owners.push(i);
    } catch {
      // An invalid step or body fails its event (and the user's later ones), as a thrown enqueue did.
      failed.add(i);
    }
  });
  return { units, owners };
};

const runPhase = async (
  deps: BatchedEnqueueDeps,
  events: readonly PlannedEvent[],
  failed: Set<number>,
  build: (p: PlannedEvent, group: string) => Unit | undefined,
): Promise<void> => {
  const { units, owners } = unitsOf(events, holdLater(events, failed), build);
  for (const u of await enqueueUnits(deps.producer, units)) failed.add(owners[u] ?? -1);
  holdLater(events, failed);
};

const preludeUnit =
  (deps: BatchedEnqueueDeps) =>
  (p: PlannedEvent, groupId: string): Unit | undefined =>
    p.prelude && {
      queueUrl: queueUrlOf(deps.stepsQueues, groupId),
      groupId,
      entries: entriesOf(p.prelude, groupId).map(({ Id: _id, ...entry }) => entry),
    };

const inboundUnit =
  (deps: BatchedEnqueueDeps) =>
  (p: PlannedEvent, groupId: string): Unit => ({
    queueUrl: queueUrlOf(deps.responderQueues, groupId),
    groupId,
    entries: [
      {
        MessageBody: encodeInbound(p.inbound),
        MessageGroupId: groupId,
        MessageDeduplicationId: dedupIdOf(p.inbound.event.eventId, 0),
      },
    ],
  });

/** The indices of the events not enqueued (empty: all of them are on their queues). */
export const batchedEnqueue =
  (deps: BatchedEnqueueDeps) =>
  async (events: readonly PlannedEvent[]): Promise<ReadonlySet<number>> => {
    const failed = new Set<number>();
    await runPhase(deps, events, failed, preludeUnit(deps));
    await runPhase(deps, events, failed, inboundUnit(deps));
    return failed;
  };
