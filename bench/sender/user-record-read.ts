/**
 * What the user record costs the sender (docs/takeover.md): one GetItem of `user:<group>` before every step,
 * ConsistentRead (lib/platform/state-table.ts readStateItem: a person's hold may have been written a moment
 * ago). Measured against dynalite (local/dynamo.ts: a DynamoDB implementation on loopback, not AWS), the
 * REAL sender handler twice over the same state table — the read on (as deployed), and the read off (the
 * record kept in memory, no DynamoDB call) — one invocation at a time, interleaved, after a warm-up; and
 * the bare read alone. Priced at DynamoDB on-demand, us-east-1.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { memoryConversationState } from '../../lib/platform/conversation-state.ts';
import { dynamoConversationState } from '../../lib/platform/conversation-state-dynamo.ts';
import { groupIdOf } from '../../lib/queue/codec.ts';
import { startLocalDynamo } from '../../local/dynamo.ts';
import { PAGE_ID, psidOf } from '../../local/meta.ts';
import { spawnHelper } from '../support/spawn.ts';
import { BENCH_APP_SECRET, BENCH_PAGE_TOKEN, discardTelemetry } from '../support/stack.ts';
import { type Distribution, distribution } from '../support/stats.ts';
import { eventFor } from './invocation-cost.ts';

/** DynamoDB on-demand, us-east-1 (AWS pricing page, read 2026-12-07): per million read request units. */
export const PRICE_PER_MILLION_RRU = 0.125;
/** A strongly consistent read of an item ≤ 4 KB is 1 RRU; an eventually consistent one 0.5. */
export const RRU_PER_CONSISTENT_READ = 1;

export type UserRecordRead = {
  /** Sender invocation wall time (a due message step, Graph stand-in at 0 ms), read on and off. */
  readOn: Distribution;
  readOff: Distribution;
  /** The GetItem alone. */
  read: Distribution;
};

/** `rounds` invocations of each handler, interleaved, and as many bare reads. */
export const measureUserRecordRead = async (rounds = 400): Promise<UserRecordRead> => {
  const graph = await spawnHelper<{ port: number }>(
    new URL('../support/child-server.ts', import.meta.url).pathname,
  );
  const dynamo = await startLocalDynamo();
  const { makeHandler } = await import('../../functions/sender.ts');
  const origin = `http://127.0.0.1:${graph.info.port}`;
  const local = { region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const sqs = new SQSClient({ ...local, endpoint: origin });
  const env = {
    QUEUE_URL: 'http://127.0.0.1:9/000000000000/steps.fifo',
    GRAPH_API_URL: origin,
    META_APP_SECRET: BENCH_APP_SECRET,
    META_PAGE_ACCESS_TOKEN: BENCH_PAGE_TOKEN,
    STATE_TABLE_NAME: dynamo.tableName,
  };
  const clients = { sqs, dynamo: dynamo.client, telemetry: discardTelemetry() };
  const on = makeHandler(env, clients);
  const off = makeHandler(env, { ...clients, conversations: memoryConversationState() });
  const state = dynamoConversationState(dynamo.client, dynamo.tableName, { ttlSeconds: 600 });
  const wall = { on: [] as number[], off: [] as number[], read: [] as number[] };
  const timed = async (into: number[], run: () => Promise<unknown>) => {
    const started = performance.now();
    await run();
    into.push(performance.now() - started);
  };
  const handlers = [
    { key: 'on' as const, run: on },
    { key: 'off' as const, run: off },
  ];
  // Each invocation its own sequence: a sent-step record must not make the other handler skip its call.
  let id = 0;
  const nextEvent = () => {
    id += 1;
    return eventFor(id, 0, 2);
  };
  try {
    // A due message on its second receive (index 1): abort read, user-record read, sent-step read and write.
    for (let n = 0; n < 50; n += 1) for (const h of handlers) await h.run(nextEvent());
    for (let n = 0; n < rounds; n += 1) {
      for (const h of n % 2 === 0 ? handlers : [...handlers].reverse())
        await timed(wall[h.key], () => h.run(nextEvent()));
      await timed(wall.read, () => state.read(groupIdOf(PAGE_ID, psidOf(n % 1000))));
    }
  } finally {
    sqs.destroy();
    await dynamo.stop();
    await graph.stop();
  }
  return { readOn: distribution(wall.on), readOff: distribution(wall.off), read: distribution(wall.read) };
};
