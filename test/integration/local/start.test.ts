/**
 * `npm start` and `npm run chat` as a developer uses them: real processes, real ports on 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startGraphFake } from '../../../local/graph-fake.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const children: ChildProcess[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const run = (script: string, args: string[], env: Record<string, string>) => {
  const child = spawn(process.execPath, [join(root, 'local', script), ...args], {
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
  ELLIPSIS_DYNAMO_PORT: '0',
  PLAN_TIME_SCALE: '0.1',
};

describe('npm start / npm run chat', () => {
  test('starts the stack, answers a chat message, and stops cleanly on Ctrl-C', async () => {
    const start = run('start.ts', [], EPHEMERAL);
    const url = (await start.waitFor(/Chat view\s+(http:\/\/127\.0\.0\.1:\d+)\//))?.[1] ?? '';
    expect(start.output()).toMatch(/Local SQS\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(start.output()).toMatch(
      /State table ellipsis-local-state on local DynamoDB \(dynalite\) at http:\/\/127\.0\.0\.1:\d+/,
    );
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
    // Every record goes to the local table: no function fell back to per-container memory.
    expect(start.output()).not.toContain('STATE_TABLE_NAME not set');
  });

  test('with META_PAGE_ACCESS_TOKEN set, sends to GRAPH_API_URL with those secrets instead of the local fake', async () => {
    const secrets = {
      META_APP_SECRET: 'real-secret-1',
      META_VERIFY_TOKEN: 'real-verify',
      META_PAGE_ACCESS_TOKEN: 'real-token-1',
    };
    // Stands in for graph.facebook.com: it only accepts the configured token and proof.
    const graph = await startGraphFake({
      appSecret: secrets.META_APP_SECRET,
      accessToken: secrets.META_PAGE_ACCESS_TOKEN,
    });
    try {
      const start = run('start.ts', [], { ...EPHEMERAL, ...secrets, GRAPH_API_URL: graph.url });
      const url = (await start.waitFor(/Chat view\s+(http:\/\/127\.0\.0\.1:\d+)\//))?.[1] ?? '';
      expect(start.output()).toContain(`Graph       ${graph.url} (real)`);
      expect(start.output()).not.toContain(secrets.META_APP_SECRET);
      const chat = run('chat.ts', ['hello'], {
        ELLIPSIS_URL: url,
        META_APP_SECRET: secrets.META_APP_SECRET,
        ELLIPSIS_CHAT_WAIT_MS: '1',
      });
      expect(await chat.exited).toBe(0);
      const deadline = Date.now() + 15_000;
      while (!graph.calls.some((c) => c.kind === 'message') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 25));
      expect(graph.calls.filter((c) => c.status === 200).map((c) => c.kind)).toContain('message');
      start.child.kill('SIGINT');
      expect(await start.exited).toBe(0);
    } finally {
      await graph.stop();
    }
  });

  test('names the variable to change when a port is taken', async () => {
    const busy = createServer();
    servers.push(busy);
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    const start = run('start.ts', [], { ...EPHEMERAL, ELLIPSIS_PORT: String(port) });
    expect(await start.exited).toBe(1);
    expect(start.output()).toContain(`port ${port} on 127.0.0.1 is already in use (set ELLIPSIS_PORT)`);
    const dynamo = run('start.ts', [], { ...EPHEMERAL, ELLIPSIS_DYNAMO_PORT: String(port) });
    expect(await dynamo.exited).toBe(1);
    expect(dynamo.output()).toContain(
      `port ${port} on 127.0.0.1 is already in use (set ELLIPSIS_DYNAMO_PORT)`,
    );
  });

  test.each([
    [{ RESPONDER: 'foo' }, 'RESPONDER'],
    [{ RESPONDER_MODULE: './nope.ts' }, 'RESPONDER_MODULE'],
    [{ PLAN_TIME_SCALE: 'abc' }, 'PLAN_TIME_SCALE'],
    [{ ELLIPSIS_LOG: 'loud' }, 'ELLIPSIS_LOG'],
  ])('refuses to start with %j, naming %s', async (env, name) => {
    const start = run('start.ts', [], { ...EPHEMERAL, ...env });
    expect(await start.exited).toBe(1);
    expect(start.output()).toMatch(new RegExp(`npm start: .*${name}`));
    expect(start.output()).not.toContain('Ellipsis local stack is up');
  });

  test('chat waits for the whole LLM answer, and never shows an earlier answer as the new one', async () => {
    const start = run('start.ts', [], { ...EPHEMERAL, PLAN_TIME_SCALE: '0.05', RESPONDER: 'llm' });
    // A loaded machine may take tens of seconds to start a process: the limits bound a hang, not a pace.
    const url = (await start.waitFor(/Chat view\s+(http:\/\/127\.0\.0\.1:\d+)\//, 90_000))?.[1] ?? '';
    const chatEnv = { ELLIPSIS_URL: url, ELLIPSIS_PSID: 'llm-cli' };
    // Quits at once: the first answer is still being typed when the second message goes out.
    const first = run('chat.ts', ['first', 'question'], { ...chatEnv, ELLIPSIS_CHAT_WAIT_MS: '1' });
    expect(await first.exited).toBe(0);
    // The first answer's first bubble is out; its other two are still to come when the second message goes.
    await start.waitFor(/\[llm-cli\] 💬 You wrote: “first question”/, 90_000);
    const second = run('chat.ts', ['second', 'question'], chatEnv);
    expect(await second.exited).toBe(0);
    const bubbles = second
      .output()
      .split('\n')
      .filter((l) => l.startsWith('  bot: '));
    expect(bubbles).toHaveLength(3);
    expect(bubbles[0]).toContain('You wrote: “second question”');
    expect(bubbles[2]).toContain('I remember 1 earlier message');
    expect(second.output()).not.toContain('first question');
    start.child.kill('SIGINT');
    expect(await start.exited).toBe(0);
  }, 240_000);

  test('serves all three channels out of the box: chat --channel whatsapp and --channel instagram are answered', async () => {
    const start = run('start.ts', [], EPHEMERAL);
    const url = (await start.waitFor(/Chat view\s+(http:\/\/127\.0\.0\.1:\d+)\//, 90_000))?.[1] ?? '';
    expect(start.output()).toMatch(
      /messenger\s+100000000000001\n\s+instagram\s+17841400000000001\n\s+whatsapp\s+106540352242922/,
    );
    const whatsapp = run('chat.ts', ['--channel', 'whatsapp', 'hi'], { ELLIPSIS_URL: url });
    expect(await whatsapp.exited, whatsapp.output()).toBe(0);
    // Read + typing is one call on WhatsApp: no seen line of its own, then the reply to the BSUID.
    expect(whatsapp.output()).toContain('… typing');
    expect(whatsapp.output()).not.toContain('👀 seen');
    expect(whatsapp.output()).toMatch(/ {2}bot: /);
    expect(whatsapp.output()).not.toContain('✖');
    const instagram = run('chat.ts', ['--channel', 'instagram', 'hi'], {
      ELLIPSIS_URL: url,
      ELLIPSIS_PSID: 'ig-cli',
    });
    expect(await instagram.exited, instagram.output()).toBe(0);
    expect(instagram.output()).toContain('👀 seen');
    expect(instagram.output()).toMatch(/ {2}bot: /);
    expect(start.output()).not.toContain('✖');
    start.child.kill('SIGINT');
    expect(await start.exited).toBe(0);
  }, 180_000);

  test('refuses a bad ELLIPSIS_ACCOUNTS_JSON at start, and chat a channel that is not one', async () => {
    const start = run('start.ts', [], {
      ...EPHEMERAL,
      ELLIPSIS_ACCOUNTS_JSON: '[{"id":"1","channel":"sms"}]',
    });
    expect(await start.exited).toBe(1);
    expect(start.output()).toMatch(/npm start: ELLIPSIS_ACCOUNTS_JSON: \[0\]\.channel: /);
    const chat = run('chat.ts', ['--channel', 'sms', 'hi'], { ELLIPSIS_URL: 'http://127.0.0.1:9' });
    expect(await chat.exited).toBe(1);
    expect(chat.output()).toMatch(/npm run chat: --channel: /);
  }, 90_000);

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
