/**
 * What the Lambda handlers in functions/ share at cold start: dependencies built on the first invocation
 * (not at import, so the local stack and tests can set the environment first) and rebuilt after a failed
 * build.
 */

/**
 * Runs `build` on the first call and hands every later call the same promise. A build that fails is
 * forgotten, so the next invocation retries the cold start instead of failing until the container dies.
 */
export const coldStart = <T>(build: () => Promise<T>): (() => Promise<T>) => {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
};
