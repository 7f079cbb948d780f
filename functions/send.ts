/**
 * Lambda 4, the console trigger (no event source): operators invoke it from the Lambda console with one of
 * its saved test events (infra/events/send-*.json), the CLI (`aws lambda invoke`, `osls invoke`) or
 * `osls invoke local`. Validation, planning and enqueueing live in lib/console/send.ts, its dependencies
 * in lib/console/deps.ts; start-up (cached deps, errors) is lib/platform/runtime.ts.
 */

import type { ControlResult } from '../lib/console/control.ts';
import { type SendOverrides, sendDeps } from '../lib/console/deps.ts';
import { runSend, type SendResult } from '../lib/console/send.ts';
import type { Env } from '../lib/platform/config.ts';
import { lambdaHandler } from '../lib/platform/runtime.ts';

export const makeHandler = (env: Env = process.env, overrides: SendOverrides = {}) =>
  lambdaHandler({
    service: 'send',
    telemetry: overrides.telemetry,
    build: (startup) => sendDeps(env, overrides, startup),
    run: (event: unknown, deps): Promise<SendResult | ControlResult> => runSend(event, deps),
    // Not cached: the next press retries with whatever the environment holds then.
    startupFailed: (message): SendResult => ({ ok: false, errors: [{ path: '(config)', message }] }),
  });

export const handler = makeHandler();
