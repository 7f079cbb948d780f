/**
 * The discrete-event core of the scale simulation (bench/system/scale-sim.bench.ts): a clock that jumps from
 * one scheduled event to the next. Events at the same instant run in the order they were scheduled, so a
 * run is deterministic and a FIFO queue's "first sent, first received" holds inside the simulation too.
 *
 * A binary min-heap keyed on (time, sequence number): millions of events in a bench run, so no sorting.
 */

type Scheduled = { at: number; seq: number; run: () => void };

export type EventLoop = {
  /** The simulated clock, in ms. */
  now: () => number;
  /** Runs `run` at `at` (never before now: a past time runs at now, after what is already due then). */
  at: (at: number, run: () => void) => void;
  /** Runs `run` `delayMs` after now. */
  after: (delayMs: number, run: () => void) => void;
  /** Runs events in time order until none is left or the next is later than `until`; the clock ends there. */
  runUntil: (until: number) => void;
  /** Events run so far. */
  processed: () => number;
  /** Events still scheduled. */
  pending: () => number;
};

const earlier = (a: Scheduled, b: Scheduled): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

const siftUp = (heap: Scheduled[], index: number): void => {
  let i = index;
  const item = heap[i]!;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const above = heap[parent]!;
    if (!earlier(item, above)) break;
    heap[i] = above;
    i = parent;
  }
  heap[i] = item;
};

const siftDown = (heap: Scheduled[], index: number): void => {
  let i = index;
  const item = heap[i]!;
  const n = heap.length;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && earlier(heap[right]!, heap[left]!) ? right : left;
    if (!earlier(heap[child]!, item)) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = item;
};

/** Removes and returns the earliest event. */
const popEarliest = (heap: Scheduled[]): Scheduled | undefined => {
  const top = heap[0];
  const last = heap.pop();
  if (top !== undefined && last !== undefined && heap.length > 0) {
    heap[0] = last;
    siftDown(heap, 0);
  }
  return top;
};

export const createEventLoop = (startAt = 0): EventLoop => {
  const heap: Scheduled[] = [];
  let clock = startAt;
  let seq = 0;
  let processed = 0;
  const at = (time: number, run: () => void): void => {
    heap.push({ at: Math.max(time, clock), seq: seq++, run });
    siftUp(heap, heap.length - 1);
  };
  const runUntil = (until: number): void => {
    while (heap.length > 0 && heap[0]!.at <= until) {
      const next = popEarliest(heap)!;
      clock = next.at;
      processed += 1;
      next.run();
    }
    clock = Math.max(clock, until);
  };
  return {
    now: () => clock,
    at,
    after: (delayMs, run) => at(clock + Math.max(0, delayMs), run),
    runUntil,
    processed: () => processed,
    pending: () => heap.length,
  };
};
