/**
 * A fake clock for code that waits on timers and on other I/O (a responder "thinking"): `sleep` moves time
 * forward, but never past the next `wait` due, so a responder that answers at 25 s is seen answering at 25 s.
 */
export const fakeClock = (start = 1_700_000_000_000) => {
  let t = start;
  const waiters: { at: number; resolve: () => void }[] = [];
  const advanceTo = (target: number) => {
    t = Math.max(t, target);
    for (const w of [...waiters].sort((a, b) => a.at - b.at)) {
      if (w.at > t) break;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  return {
    now: () => t,
    /** What a responder awaits: resolves once the clock reaches now + ms. */
    wait: (ms: number): Promise<void> =>
      new Promise((resolve) => {
        waiters.push({ at: t + ms, resolve });
      }),
    /** The runner's sleep: up to `ms`, or up to the next responder wake-up, whichever comes first. */
    sleep: (ms: number, _signal?: AbortSignal): Promise<void> =>
      new Promise((resolve) =>
        setImmediate(() => {
          const next = Math.min(t + ms, ...waiters.map((w) => w.at));
          advanceTo(next);
          resolve();
        }),
      ),
  };
};
