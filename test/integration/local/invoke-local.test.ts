/**
 * The README's console line, `npx osls invoke local -f send --stage local --path infra/events/send-greeting.json`,
 * against a running local stack and with no AWS_* variable set by hand (#15): the `local` stage carries the
 * dummy credentials, region and SQS endpoint itself. osls runs in a copy of the service so its esbuild output
 * never meets a concurrent `npm run package` in the repository.
 *
 * Every sample in infra/events/ either runs this way on the stack `npm start` builds (the default accounts,
 * local/defaults.ts: send-*.json, each played out on its channel, or refused with its reasons) or says in
 * its name that it is a fixture for another function's tests (fixture-*.json).
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LOCAL_ACCOUNTS, LOCAL_WHATSAPP_RECEIVED } from '../../../local/defaults.ts';
import type { GraphCall } from '../../../local/graph-fake.ts';
import { type Stack, startStack } from '../../../local/stack.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';
import { until, untilIdle } from '../../support/wait.ts';

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
    accounts: LOCAL_ACCOUNTS,
    whatsappReceived: LOCAL_WHATSAPP_RECEIVED,
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

const EVENTS = join(root, 'infra', 'events');
const sample = (file: string) =>
  JSON.parse(readFileSync(join(EVENTS, file), 'utf8')) as { pageId: string; psid: string };

const invokeSend = (file: string) =>
  osls(service, [
    'invoke',
    'local',
    '-f',
    'send',
    '--stage',
    'local',
    '--path',
    `infra/events/${file}`,
    // npm start listens on 9324 (the param's default); this stack took a free port.
    `--param=localSqsPort=${new URL(stack.sqs.endpoint).port}`,
  ]);

/** The Graph calls for the sample's user made after `since` (the fake numbers calls from 1). */
const callsSince = (since: number, psid: string): GraphCall[] =>
  stack.graph?.calls.filter((c) => c.seq > since && c.psid === psid) ?? [];

/** Runs one sample, then waits until the stack has played out all it enqueued; its user's calls. */
const played = async (file: string): Promise<{ output: string; calls: GraphCall[] }> => {
  const since = stack.graph?.calls.length ?? 0;
  const { code, output } = await invokeSend(file);
  expect(output).not.toContain('CredentialsProviderError');
  expect(code, output).toBe(0);
  const { psid } = sample(file);
  await until(() => callsSince(since, psid).some((c) => c.kind === 'message'), 30_000, `${file} played out`);
  await untilIdle(stack.idle);
  return { output, calls: callsSince(since, psid) };
};

describe('infra/events', () => {
  test('every file is a send sample or says it is a fixture for another function', () => {
    const files = readdirSync(EVENTS);
    expect(files.filter((f) => !/^(send|fixture-(sender|webhook))-[a-z0-9-]+\.json$/.test(f))).toEqual([]);
  });

  test('every send sample is for an account the local stack serves by default', () => {
    const served = new Set<string>(LOCAL_ACCOUNTS.map((a) => a.id));
    const samples = readdirSync(EVENTS).filter((f) => f.startsWith('send-') && f !== 'send-invalid.json');
    for (const f of samples) expect(served.has(sample(f).pageId), f).toBe(true);
  });
});

describe('osls invoke local --stage local', () => {
  test('enqueues the saved greeting on the local stack, which plays it out, with no AWS_* set by hand', async () => {
    const { output, calls } = await played('send-greeting.json');
    expect(output).toContain('"ok": true');
    expect(calls.map((c) => c.kind)).toEqual(['mark_seen', 'typing_on', 'message']);
    expect(calls.every((c) => c.status === 200)).toBe(true);
  }, 90_000);

  test('the WhatsApp sample: read + typing on its wamid, then buttons addressed to the BSUID', async () => {
    const { calls } = await played('send-whatsapp-reply.json');
    expect(calls.every((c) => c.status === 200 && c.channel === 'whatsapp')).toBe(true);
    expect(calls[0]?.body).toMatchObject({ status: 'read', message_id: LOCAL_WHATSAPP_RECEIVED[0].wamid });
    expect(calls.at(-1)?.body).toMatchObject({
      recipient: 'US.13491208655302741918',
      type: 'interactive',
    });
  }, 90_000);

  test.each([
    ['send-multi-reply-quick-replies.json', 3],
    ['send-reaction.json', 1],
  ])(
    '%s plays out on the default Page, every call accepted',
    async (file, messages) => {
      const { calls } = await played(file);
      expect(calls.every((c) => c.status === 200)).toBe(true);
      expect(calls.filter((c) => c.kind === 'message')).toHaveLength(messages);
    },
    90_000,
  );

  test.each(['send-pause.json', 'send-resume.json'])(
    '%s answers ok with its control',
    async (file) => {
      const { code, output } = await invokeSend(file);
      expect(code, output).toBe(0);
      expect(output).toContain('"ok": true');
      expect(output).toContain('"control"');
    },
    90_000,
  );

  test('send-invalid.json is refused with a reason per field, nothing sent', async () => {
    const before = stack.graph?.calls.length ?? 0;
    const { code, output } = await invokeSend('send-invalid.json');
    expect(code, output).toBe(0);
    expect(output).toContain('"ok": false');
    expect(output).toContain('"path": "pageId"');
    await untilIdle(stack.idle);
    expect(stack.graph?.calls.length).toBe(before);
  }, 90_000);
});
