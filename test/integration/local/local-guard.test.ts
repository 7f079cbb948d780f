/**
 * The chat view and /local/* answer only the chat page on this machine (local/local-guard.ts): the forged
 * cross-origin POST of issue 21 and a request through a tunnel are refused in both Graph modes, while the
 * webhook itself stays reachable through the tunnel. And a bad variable stops the stack at start, naming it.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Stack, startStack } from '../../../local/stack.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const quiet = () => ({
  webhookOverrides: { telemetry: memoryTelemetry() },
  senderOverrides: { telemetry: memoryTelemetry() },
  responderOverrides: { telemetry: memoryTelemetry() },
});

/** A raw request (fetch would not let a test set Host): status and body. */
const raw = (url: string, options: { method?: string; headers?: Record<string, string>; body?: string }) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString('utf8');
        // An accepted event stream never ends: its first bytes are enough.
        if (res.headers['content-type'] === 'text/event-stream') req.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });

/** Issue 21's forged POST: text/plain (no CORS preflight), a hostile Origin, no token. */
const forgedSay = (stack: Stack) =>
  raw(`${stack.url}/local/say`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: 'http://evil.example' },
    body: JSON.stringify({ psid: '1234567890123456', text: 'hello' }),
  });

/** Counts requests to a stand-in for the real Graph API (real-Page mode must send none for a forgery). */
const countingGraph = async () => {
  let calls = 0;
  const server = createServer((_req, res) => {
    calls += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"recipient_id":"1"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, calls: () => calls, stop: () => new Promise<void>((r) => server.close(() => r())) };
};

describe.each(['local', 'real'] as const)('/local/* in %s Graph mode', (mode) => {
  let stack: Stack;
  let graph: Awaited<ReturnType<typeof countingGraph>>;
  beforeAll(async () => {
    graph = await countingGraph();
    const real = { META_APP_SECRET: 's3cret-app', META_VERIFY_TOKEN: 'v', META_PAGE_ACCESS_TOKEN: 'EAAreal' };
    stack = await startStack({
      ...quiet(),
      graph: mode,
      env: { PLAN_TIME_SCALE: '0.01', ...(mode === 'real' ? { ...real, GRAPH_API_URL: graph.url } : {}) },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await graph?.stop();
  });

  test("issue 21's cross-origin text/plain POST is refused and signs nothing", async () => {
    const answer = await forgedSay(stack);
    expect(answer.status).toBe(403);
    expect(answer.body).toMatch(/cross-origin|token|content-type/);
    expect(answer.body).not.toContain(stack.appSecret);
    expect(await stack.idle()).toBe(true);
    expect(graph.calls()).toBe(0);
  });

  test.each([
    ['a hostile Origin', { origin: 'http://evil.example' }, /cross-origin/],
    ['a cross-site fetch', { 'sec-fetch-site': 'cross-site' }, /cross-site/],
    ['text/plain', { 'content-type': 'text/plain' }, /content-type/],
    ['no token', { 'x-ellipsis-token': '' }, /token/],
  ])('even with the token, %s is refused', async (_name, headers, reason) => {
    const answer = await raw(`${stack.url}/local/say`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ellipsis-token': stack.localToken, ...headers },
      body: JSON.stringify({ psid: 'guard-user', text: 'hello' }),
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatch(reason);
  });

  test.each([
    ['X-Forwarded-For', { 'x-forwarded-for': '203.0.113.9' }],
    ['Forwarded', { forwarded: 'for=203.0.113.9;proto=https' }],
    ['Via', { via: '1.1 tunnel' }],
    ['a public Host', { host: 'abc123.ngrok-free.app' }],
    ['a rebinding Host', { host: 'evil.example:3000' }],
  ])('a request arriving with %s reaches neither the page nor /local/*', async (_name, headers) => {
    for (const path of ['/', '/app.js', `/local/events?token=${stack.localToken}`, '/local/config']) {
      const answer = await raw(`${stack.url}${path}`, {
        headers: { 'x-ellipsis-token': stack.localToken, ...headers },
      });
      expect(answer.status, path).toBe(403);
      expect(answer.body, path).not.toContain(stack.localToken);
    }
  });

  test('the webhook itself stays reachable through the tunnel (Meta must reach it)', async () => {
    const url = `${stack.webhookUrl}?hub.mode=subscribe&hub.verify_token=${stack.verifyToken}&hub.challenge=42`;
    const answer = await raw(url, {
      headers: { 'x-forwarded-for': '173.252.127.1', host: 'abc.ngrok-free.app' },
    });
    expect(answer).toEqual({ status: 200, body: '42' });
  });

  test("the page served on this machine carries the token; with it the chat page's own request passes", async () => {
    const page = await raw(`${stack.url}/`, {});
    expect(page.body).toContain(`<meta name="ellipsis-token" content="${stack.localToken}"`);
    const events = await raw(`${stack.url}/local/events?token=${stack.localToken}`, {
      headers: { 'sec-fetch-site': 'same-origin' },
    });
    expect(events.status).toBe(200);
  });
});

describe('bad configuration stops the stack at start, naming the variable', () => {
  test.each([
    [{ RESPONDER: 'foo' }, /responder.*RESPONDER/],
    [{ RESPONDER_MODULE: './nope.ts' }, /RESPONDER_MODULE \.\/nope\.ts could not be imported/],
    [{ PLAN_TIME_SCALE: 'abc' }, /webhook.*PLAN_TIME_SCALE/],
  ])('%j', async (env, reason) => {
    await expect(startStack({ ...quiet(), env })).rejects.toThrow(reason);
  });
});
