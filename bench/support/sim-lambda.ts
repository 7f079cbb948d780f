/**
 * Simulated Lambda for the scale simulation: an SQS event source mapping that polls one queue and runs a
 * handler on at most `maxConcurrency` instances, all drawing on one account's concurrency.
 *
 * AWS Lambda Developer Guide: a FIFO mapping never runs more instances than there are active message groups
 * (each receive here takes distinct ready groups), at most ~1,250 per mapping (1,000 with
 * MaximumConcurrency), and an account starts at 1,000 concurrent executions shared by every function.
 * Mappings start warm (at their maximum): the ramp after a cold start is the model's figure, not simulated.
 */
import type { EventLoop } from './sim-events.ts';
import type { SimFifo, SimMessage } from './sim-fifo.ts';

export type Account = { limit: number; busy: number };

/** What a function did: invocations, billed ms (wall time, as Lambda bills it) and instances now busy. */
export type FunctionStats = { invocations: number; billedMs: number; busy: number };

export const newStats = (): FunctionStats => ({ invocations: 0, billedMs: 0, busy: 0 });

/** One invocation of an instance: returns when the handler calls `done`. */
export const invoke = (
  loop: EventLoop,
  stats: FunctionStats,
  account: Account,
  handler: (done: () => void) => void,
): void => {
  const started = loop.now();
  stats.invocations += 1;
  stats.busy += 1;
  account.busy += 1;
  handler(() => {
    stats.busy -= 1;
    account.busy -= 1;
    stats.billedMs += Math.max(1, Math.ceil(loop.now() - started));
  });
};

export type MappingOptions = {
  maxConcurrency: number;
  batchSize: number;
  /** From a message becoming available to its handler starting (long poll answered, invoke). */
  pollLatencyMs: number;
};

/**
 * Polls `queue` whenever a message becomes available or an instance frees up: one receive per instance
 * started, while the mapping and the account have room. Returns the function's stats.
 */
export const createMapping = <T>(
  loop: EventLoop,
  queue: SimFifo<T>,
  account: Account,
  options: MappingOptions,
  handler: (messages: SimMessage<T>[], done: () => void) => void,
): FunctionStats => {
  const stats = newStats();
  let polling = false;
  const dispatch = (): void => {
    if (polling) return;
    polling = true;
    while (stats.busy < options.maxConcurrency && account.busy < account.limit && queue.readyGroups() > 0) {
      const messages = queue.receive(options.batchSize);
      if (messages.length === 0) break;
      // The instance is taken from the receive on; the handler starts after the poll's latency.
      invoke(loop, stats, account, (done) => {
        loop.after(options.pollLatencyMs, () =>
          handler(messages, () => {
            done();
            loop.after(0, dispatch);
          }),
        );
      });
    }
    polling = false;
  };
  queue.onReady(() => loop.after(0, dispatch));
  return stats;
};
