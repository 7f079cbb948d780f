/**
 * `npm start` and `npm run chat` as a developer uses them: real processes, real ports on 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');
const children: ChildProcess[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const run = (script: string, args: string[], env: Record<string, string>) => {
  const child = spawn(process.execPath, [join(root, 'infra', 'local', script), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, limitMs = 20_000) => {
    const end = Date.now() + limitMs;
    while (!pattern.test(output)) {
      if (Date.now() > end || child.exitCode !== null)
        throw new Error(`never printed ${pattern}:\n${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return pattern.exec(output);
  };
  return { child, exited, waitFor, output: () => output };
};

const EPHEMERAL = {
  ELLIPSIS_PORT: '0',
  ELLIPSIS_SQS_PORT: '0',
  ELLIPSIS_GRAPH_PORT: '0',
  PLAN_TIME_SCALE: '0.1',
};

describe('npm start / npm run chat', () => {
  test('starts the stack, answers a chat message, and stops cleanly on Ctrl-C', async () => {
    const start = run('start.ts', [], EPHEMERAL);
    const url = (await start.waitFor(/Chat view\s+(http:\/\/127\.0\.0\.1:\d+)\//))?.[1] ?? '';
    expect(start.output()).toMatch(/Local SQS\s+http:\/\/127\.0\.0\.1:\d+/);
    const chat = run('chat.ts', ['tell', 'me', 'a', 'joke'], {
      ELLIPSIS_URL: url,
      ELLIPSIS_PSID: 'cli-test',
    });
    expect(await chat.exited).toBe(0);
    expect(chat.output()).toContain('you: tell me a joke');
    expect(chat.output()).toContain('👀 seen');
    expect(chat.output()).toMatch(/bot: Why did the bot take so long to reply\?/);
    await start.waitFor(/\[cli-test\] 💬 It was reading/);
    start.child.kill('SIGINT');
    expect(await start.exited).toBe(0);
    expect(start.output()).toContain('stopped');
  });

  test('names the variable to change when a port is taken', async () => {
    const busy = createServer();
    servers.push(busy);
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    const start = run('start.ts', [], { ...EPHEMERAL, ELLIPSIS_PORT: String(port) });
    expect(await start.exited).toBe(1);
    expect(start.output()).toContain(`port ${port} on 127.0.0.1 is already in use (set ELLIPSIS_PORT)`);
  });

  test('chat tells the developer to start the stack when nothing listens', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    await new Promise((r) => busy.close(r));
    const chat = run('chat.ts', ['hello'], { ELLIPSIS_URL: `http://127.0.0.1:${port}` });
    expect(await chat.exited).toBe(1);
    expect(chat.output()).toContain('start the stack first with npm start');
  });
});
