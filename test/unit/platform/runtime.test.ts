import { describe, expect, it } from 'vitest';
import { RulesError } from '../../../lib/bots/rules.ts';
import { ConfigError } from '../../../lib/platform/errors.ts';
import { coldStart, type HandlerShape, lambdaHandler, startupReason } from '../../../lib/platform/runtime.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

describe('coldStart', () => {
  it('builds once and hands every call, concurrent or later, the same result', async () => {
    let builds = 0;
    const deps = coldStart(async () => ({ build: ++builds }));
    const [a, b] = await Promise.all([deps(), deps()]);
    const c = await deps();
    expect(builds).toBe(1);
    expect(a).toBe(b);
    expect(c).toBe(a);
  });

  it('forgets a failed build, so the next call retries it', async () => {
    let builds = 0;
    const deps = coldStart(async () => {
      builds += 1;
      if (builds === 1) throw new Error('QUEUE_URL is required');
      return builds;
    });
    const first = await Promise.allSettled([deps(), deps()]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(builds).toBe(1); // callers of the same failing build share it
    await expect(deps()).resolves.toBe(2);
    await expect(deps()).resolves.toBe(2);
    expect(builds).toBe(2);
  });
});

describe('startupReason', () => {
  it('passes our own errors (config, rules file) through by instanceof, never by name', () => {
    expect(startupReason(new ConfigError('QUEUE_URL: Invalid input'))).toBe('QUEUE_URL: Invalid input');
    expect(startupReason(new RulesError('rules.0.replies: Too small'))).toBe('rules.0.replies: Too small');
    const impostor = Object.assign(new Error('token EAAsecret'), { name: 'RulesError' });
    expect(startupReason(impostor)).toBe('could not initialise (RulesError)');
  });

  it('reports any other error by its name only: an SDK message may echo a secret', () => {
    const sdk = Object.assign(new Error('denied for key s3cr3t-value'), { name: 'AccessDeniedException' });
    expect(startupReason(sdk)).toBe('could not initialise (AccessDeniedException)');
    expect(startupReason('a string')).toBe('could not initialise (unknown error)');
  });
});

describe('lambdaHandler', () => {
  type Deps = { greeting: string };
  const shapeOf = (overrides: Partial<HandlerShape<string, string, Deps>> = {}) => {
    const telemetry = memoryTelemetry();
    let flushes = 0;
    telemetry.flush = () => {
      flushes += 1;
    };
    const shape: HandlerShape<string, string, Deps> = {
      service: 'unit',
      telemetry,
      build: () => ({ greeting: 'hi' }),
      run: async (event, deps) => `${deps.greeting} ${event}`,
      startupFailed: (reason) => `failed: ${reason}`,
      ...overrides,
    };
    return { shape, telemetry, flushes: () => flushes };
  };

  it('builds once, runs the core per invocation and flushes metrics once per invocation', async () => {
    let builds = 0;
    const { shape, flushes } = shapeOf({ build: () => ({ greeting: `hi#${++builds}` }) });
    const handler = lambdaHandler(shape);
    expect(await handler('a')).toBe('hi#1 a');
    expect(await handler('b')).toBe('hi#1 b');
    expect(builds).toBe(1);
    expect(flushes()).toBe(2);
  });

  it('maps a failed start to the safe reason, logs it, and retries the start next time', async () => {
    let attempt = 0;
    const { shape, telemetry } = shapeOf({
      build: () => {
        attempt += 1;
        if (attempt === 1) throw new ConfigError('QUEUE_URL: Invalid input');
        if (attempt === 2) throw new Error('boom with EAAsecretToken');
        return { greeting: 'hi' };
      },
    });
    const handler = lambdaHandler(shape);
    expect(await handler('a')).toBe('failed: QUEUE_URL: Invalid input');
    expect(await handler('a')).toBe('failed: could not initialise (Error)');
    expect(await handler('a')).toBe('hi a');
    expect(telemetry.logs.map((l) => [l.level, l.message, l.attributes.error])).toEqual([
      ['error', 'unit could not initialise', 'QUEUE_URL: Invalid input'],
      ['error', 'unit could not initialise', 'could not initialise (Error)'],
    ]);
    expect(JSON.stringify(telemetry.logs)).not.toContain('EAAsecretToken');
  });

  it('lets startupFailed throw, so an SQS batch goes back to the queue untouched', async () => {
    const { shape } = shapeOf({
      build: () => {
        throw new ConfigError('DLQ_URL: Invalid URL');
      },
      startupFailed: (reason) => {
        throw new Error(reason);
      },
    });
    await expect(lambdaHandler(shape)('a')).rejects.toThrow('DLQ_URL: Invalid URL');
  });

  it('turns a throwing core into the crashed answer when given one, and rethrows otherwise', async () => {
    const run = async () => {
      throw new TypeError('bug');
    };
    const answering = shapeOf({ run, crashed: () => 'internal error' });
    expect(await lambdaHandler(answering.shape)('a')).toBe('internal error');
    expect(answering.telemetry.logs.map((l) => l.message)).toEqual(['unit failed unexpectedly']);
    const { shape, flushes } = shapeOf({ run });
    await expect(lambdaHandler(shape)('a')).rejects.toThrow('bug');
    expect(flushes()).toBe(1);
  });

  it('resolves secrets through the injected fetcher once, at the first invocation', async () => {
    const asked: string[] = [];
    const { shape } = shapeOf({
      fetchParameter: async (name) => {
        asked.push(name);
        return `value-of-${name}`;
      },
      build: async ({ secrets }) => {
        const { META_APP_SECRET } = await secrets({ META_APP_SECRET: { param: '/e/app' } });
        return { greeting: META_APP_SECRET };
      },
    });
    const handler = lambdaHandler(shape);
    expect(await handler('a')).toBe('value-of-/e/app a');
    await handler('b');
    expect(asked).toEqual(['/e/app']);
  });

  it('refuses a parameter-named secret by name when the function was given no SSM reader', async () => {
    const { shape } = shapeOf({
      build: async ({ secrets }) => {
        await secrets({ META_APP_SECRET: { param: '/e/app' } });
        return { greeting: 'unreachable' };
      },
    });
    expect(await lambdaHandler(shape)('a')).toBe(
      'failed: no SSM reader in this function for parameter /e/app',
    );
  });
});
