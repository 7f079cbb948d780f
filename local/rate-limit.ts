/**
 * The local Graph's per-account call limit (local/graph-fake.ts `rateLimit`), so a bench can offer more
 * than an account may spend and see what real Graph answers then: every call over `perSecond` within one
 * epoch second gets `status` + `body` — the caller passes a real refusal (the hot-Page bench reads the
 * corpus's 613 body at run time). Meta does not publish its window; fixed epoch seconds are assumed here
 * (docs/scale.md, "Per-account call budgets", says what a sliding window would change).
 */

export type RateLimit = {
  /** Calls one account (the path's Page / account id) may make per second; refused calls count too. */
  perSecond: number;
  status: number;
  body: unknown;
};

type Answer = { status: number; body: unknown };

/** A limiter over calls as they arrive: the refusal for one over the limit, else undefined. */
export const rateLimiter = (limit: RateLimit): ((account: string, at: number) => Answer | undefined) => {
  if (!Number.isInteger(limit.perSecond) || limit.perSecond < 1)
    throw new Error('rateLimit.perSecond must be a whole number of calls, at least 1');
  const seconds = new Map<string, { second: number; calls: number }>();
  return (account, at) => {
    const second = Math.floor(at / 1000);
    const current = seconds.get(account);
    const counted = current?.second === second ? { second, calls: current.calls + 1 } : { second, calls: 1 };
    seconds.set(account, counted);
    return counted.calls > limit.perSecond ? { status: limit.status, body: limit.body } : undefined;
  };
};
