/**
 * Waiting in tests: on a condition, never for a fixed time. A fixed sleep that checks "nothing more arrives"
 * passes falsely when the machine is slow; waiting until the pipeline is idle (local/esm.ts `idle`: queues
 * empty, nothing running) proves that nothing more can arrive.
 */

/** Polls `condition` every 10 ms until it holds; fails the test after `limitMs`. */
export const until = async (
  condition: () => boolean | Promise<boolean>,
  limitMs = 30_000,
  what = 'condition',
): Promise<void> => {
  const end = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what} not reached in ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Until `idle()` holds: every queue empty (visible, in flight, delayed) and no function running. */
export const untilIdle = (idle: () => Promise<boolean>, limitMs = 30_000): Promise<void> =>
  until(idle, limitMs, 'pipeline idle (queues empty, nothing running)');
