/**
 * The one start-up shape of every Lambda handler in functions/ (webhook, sender, send, and any new one):
 *
 * ```ts
 * export const build = async (env: Env, overrides: MyOverrides, startup: Startup): Promise<MyDeps> => { … };
 * export const makeHandler = (env: Env = process.env, overrides: MyOverrides = {}) =>
 *   lambdaHandler({
 *     service: 'my-function',
 *     telemetry: overrides.telemetry,
 *     fetchParameter: overrides.fetchParameter ?? fetchFromSsm, // only when it has secrets
 *     build: (startup) => build(env, overrides, startup),
 *     run: (event: MyEvent, deps) => myCore(toPlainInput(event), deps),
 *     startupFailed: (reason) => ({ ok: false, reason }),
 *   });
 * export const handler = makeHandler();
 * ```
 *
 * `lambdaHandler` owns what each handler used to do its own way: telemetry created on first use (so
 * Powertools reads an environment set after import), redaction of every secret `build` resolves, the
 * dependencies built on the first invocation and rebuilt after a failed build, the mapping of a start-up
 * failure to a safe reason (lib/platform/errors.ts: an EllipsisError's message, otherwise the error's name
 * only), and one flush of metrics per invocation.
 */
import { type FetchParameter, resolveSecrets, type SecretName, type SecretSource } from './config.ts';
import { ConfigError, EllipsisError } from './errors.ts';
import { powertoolsTelemetry, type Telemetry } from './telemetry.ts';

/** What a handler's `build` is given at cold start. */
export type Startup = {
  telemetry: Telemetry;
  /** Resolves secret sources (values or SSM parameter names) and redacts the values from every later log. */
  secrets: <K extends SecretName>(sources: Record<K, SecretSource>) => Promise<Record<K, string>>;
};

export type HandlerShape<Event, Result, Deps> = {
  /** The function's name in logs and metrics (Powertools service). */
  service: string;
  /** Replaces Powertools telemetry (tests, the local stack). */
  telemetry?: Telemetry | undefined;
  /** Reads `*_PARAM` secrets: lib/platform/ssm.ts in AWS, a stub in tests. Injected, so a function without secrets bundles no SSM client. */
  fetchParameter?: FetchParameter | undefined;
  build: (startup: Startup) => Promise<Deps> | Deps;
  /** One invocation: the plain-input core of lib/. */
  run: (event: Event, deps: Deps) => Promise<Result>;
  /** The answer when the function could not start (`reason` is safe to show); throw to fail the invocation. */
  startupFailed: (reason: string) => Result;
  /** The answer when `run` throws (logged first); without it the error fails the invocation. */
  crashed?: (error: unknown) => Result;
};

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

/** Why a start-up failed, safe to log and answer: our own errors name variables and files, never values. */
export const startupReason = (error: unknown): string =>
  error instanceof EllipsisError
    ? error.message
    : `could not initialise (${error instanceof Error ? error.name : 'unknown error'})`;

/** A handler that passes no reader (one without secrets) refuses `*_PARAM` sources by name. */
const noParameterReader: FetchParameter = async (name) => {
  throw new ConfigError(`no SSM reader in this function for parameter ${name}`);
};

export const lambdaHandler = <Event, Result, Deps>(
  shape: HandlerShape<Event, Result, Deps>,
): ((event: Event) => Promise<Result>) => {
  let secretValues: readonly string[] = [];
  let cached: Telemetry | undefined;
  const telemetryOf = () =>
    (cached ??= shape.telemetry ?? powertoolsTelemetry(shape.service, () => secretValues));
  const secrets: Startup['secrets'] = async (sources) => {
    const values = await resolveSecrets(sources, shape.fetchParameter ?? noParameterReader);
    secretValues = [...new Set([...secretValues, ...Object.values<string>(values)])];
    return values;
  };
  const deps = coldStart(async () => shape.build({ telemetry: telemetryOf(), secrets }));
  return async (event) => {
    const telemetry = telemetryOf();
    let built: Deps;
    try {
      built = await deps();
    } catch (error) {
      const reason = startupReason(error);
      telemetry.log.error(`${shape.service} could not initialise`, { error: reason });
      telemetry.flush();
      return shape.startupFailed(reason);
    }
    try {
      return await shape.run(event, built);
    } catch (error) {
      if (!shape.crashed) throw error;
      // The core does not throw by design; this keeps an unforeseen bug a logged answer, not a crash.
      telemetry.log.error(`${shape.service} failed unexpectedly`, { error });
      return shape.crashed(error);
    } finally {
      telemetry.flush();
    }
  };
};
