/**
 * The README's console line, `npx osls invoke local -f send --stage local --path infra/events/send-greeting.json`,
 * against a running local stack and with no AWS_* variable set by hand (#15): the `local` stage carries the
 * dummy credentials, region and SQS endpoint itself. osls runs in a copy of the service so its esbuild output
 * never meets a concurrent `npm run package` in the repository.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Stack, startStack } from '../../../local/stack.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const SERVICE_FILES = ['serverless.yml', 'package.json', 'tsconfig.json', 'functions', 'lib', 'infra'];

/** Runs osls in `cwd` with this environment minus every AWS_* variable; resolves with exit code and output. */
const osls = (cwd: string, args: string[]): Promise<{ code: number | null; output: string }> => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  const child = spawn(
    process.execPath,
    [join(cwd, 'node_modules', 'osls', 'bin', 'serverless.js'), ...args],
    {
      cwd,
      env: {
        ...env,
        // Keep credentials this machine may have out of the way, so only the stage can supply them.
        AWS_SHARED_CREDENTIALS_FILE: join(cwd, 'no-credentials'),
        AWS_CONFIG_FILE: join(cwd, 'no-config'),
        // osls's own credential lookup would otherwise probe the EC2 metadata address; tests stay on 127.0.0.1.
        AWS_EC2_METADATA_DISABLED: 'true',
        SLS_INTERACTIVE_SETUP_DISABLE: '1',
        FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
};

let stack: Stack;
let service: string;
beforeAll(async () => {
  stack = await startStack({
    webhookOverrides: { telemetry: memoryTelemetry() },
    senderOverrides: { telemetry: memoryTelemetry() },
  });
  service = mkdtempSync(join(tmpdir(), 'ellipsis-invoke-local-'));
  for (const entry of SERVICE_FILES) cpSync(join(root, entry), join(service, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(service, 'node_modules'));
});
afterAll(async () => {
  await stack?.stop();
  if (service) rmSync(service, { recursive: true, force: true });
});

describe('osls invoke local --stage local', () => {
  test('enqueues the saved greeting on the local stack, which plays it out, with no AWS_* set by hand', async () => {
    const port = new URL(stack.sqs.endpoint).port;
    const { code, output } = await osls(service, [
      'invoke',
      'local',
      '-f',
      'send',
      '--stage',
      'local',
      '--path',
      'infra/events/send-greeting.json',
      // npm start listens on 9324 (the param's default); this stack took a free port.
      `--param=localSqsPort=${port}`,
    ]);
    expect(output).not.toContain('CredentialsProviderError');
    expect(code, output).toBe(0);
    expect(output).toContain('"ok": true');
    const psid = '6789012345678901'; // infra/events/send-greeting.json
    const end = Date.now() + 30_000;
    while ((stack.graph?.callsFor(psid).length ?? 0) < 3 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stack.graph?.callsFor(psid).map((c) => c.kind)).toEqual(['mark_seen', 'typing_on', 'message']);
  }, 90_000);
});
