import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type Agent, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, Agent as HttpsAgent } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type GraphClient, graphClient, graphRequestBody } from '../../../../lib/meta/graph/client.ts';
import { classifyGraphError } from '../../../../lib/meta/graph/errors.ts';
import { keepAliveAgent } from '../../../../lib/meta/graph/https-post.ts';
import { interpretGraphResponse } from '../../../../lib/meta/graph/response.ts';
import { parseUsage } from '../../../../lib/meta/graph/usage.ts';
import type { Action } from '../../../../lib/queue/step.ts';
import { appSecretProofOf } from '../../../support/signing.ts';
import { until } from '../../../support/wait.ts';

const TOKEN = 'EAAtestPageAccessToken1234567890';
const SECRET = 'test-app-secret-0123456789';
const PROOF = appSecretProofOf(TOKEN, SECRET);

type Seen = { method: string; url: string; headers: IncomingMessage['headers']; body: string };
type Reply = { status?: number; headers?: Record<string, string | string[]>; body?: string; hang?: boolean };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fake Graph on 127.0.0.1: records requests and connections, answers with `reply(request)`. */
const fakeGraph = async (reply: (seen: Seen) => Reply = () => ({ body: '{"recipient_id":"1"}' })) => {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let closed = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(request);
      const answer = reply(request);
      if (answer.hang) return;
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '{"recipient_id":"1"}');
    });
  });
  // Node's server default (5 s) would send `Keep-Alive: timeout=5`, which shortens the client's idle window.
  server.keepAliveTimeout = 65_000;
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => {
      closed += 1;
      sockets.delete(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    connections: () => connections,
    closed: () => closed,
    close,
  };
};

const client = (
  baseUrl: string,
  extra: { timeoutMs?: number; agent?: Agent; connections?: number } = {},
): GraphClient => {
  const c = graphClient({
    baseUrl,
    version: 'v25.0',
    accessToken: TOKEN,
    appSecret: SECRET,
    timeoutMs: extra.timeoutMs ?? 5000,
    ...(extra.agent && { agent: extra.agent }),
    ...(extra.connections && { connections: extra.connections }),
  });
  cleanups.push(() => c.close());
  return c;
};

const allKinds: { name: string; action: Action; body: Record<string, unknown> }[] = [
  {
    name: 'mark_seen',
    action: { sender_action: 'mark_seen' },
    body: { recipient: { id: 'PSID1' }, sender_action: 'mark_seen' },
  },
  {
    name: 'typing_on',
    action: { sender_action: 'typing_on' },
    body: { recipient: { id: 'PSID1' }, sender_action: 'typing_on' },
  },
  {
    name: 'typing_off',
    action: { sender_action: 'typing_off' },
    body: { recipient: { id: 'PSID1' }, sender_action: 'typing_off' },
  },
  {
    name: 'react',
    action: { sender_action: 'react', payload: { message_id: 'm_1', reaction: '❤️' } },
    body: {
      recipient: { id: 'PSID1' },
      sender_action: 'react',
      payload: { message_id: 'm_1', reaction: '❤️' },
    },
  },
  {
    name: 'unreact',
    action: { sender_action: 'unreact', payload: { message_id: 'm_1' } },
    body: { recipient: { id: 'PSID1' }, sender_action: 'unreact', payload: { message_id: 'm_1' } },
  },
  {
    name: 'message',
    action: {
      message: { text: 'Hello 👋', quick_replies: [{ content_type: 'text', title: 'Yes', payload: 'Y' }] },
    },
    body: {
      recipient: { id: 'PSID1' },
      messaging_type: 'RESPONSE',
      message: { text: 'Hello 👋', quick_replies: [{ content_type: 'text', title: 'Yes', payload: 'Y' }] },
    },
  },
];

describe('graph client requests', () => {
  for (const kind of allKinds) {
    it(`posts a ${kind.name} step to /{version}/{pageId}/messages with token and appsecret_proof`, async () => {
      const graph = await fakeGraph();
      const result = await client(graph.url).sendAction({
        pageId: 'PAGE1',
        psid: 'PSID1',
        action: kind.action,
      });
      expect(result.ok).toBe(true);
      const [request] = graph.seen;
      expect(request?.method).toBe('POST');
      const url = new URL(request?.url ?? '', graph.url);
      expect(url.pathname).toBe('/v25.0/PAGE1/messages');
      expect(url.searchParams.get('access_token')).toBe(TOKEN);
      expect(url.searchParams.get('appsecret_proof')).toBe(PROOF);
      expect(request?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(request?.body ?? '')).toEqual(kind.body);
    });
  }

  it('sends sender actions without messaging_type (Meta: only sender_action and recipient)', () => {
    for (const kind of allKinds.filter((k) => k.name !== 'message')) {
      expect(graphRequestBody({ pageId: 'P', psid: 'U', action: kind.action })).not.toHaveProperty(
        'messaging_type',
      );
    }
  });

  it('addresses a chat-plugin guest by user_ref, everyone else by PSID', () => {
    const action = { message: { text: 'hi' } } as const;
    expect(graphRequestBody({ pageId: 'P', psid: 'user_ref:ref-123', action }).recipient).toEqual({
      user_ref: 'ref-123',
    });
    expect(graphRequestBody({ pageId: 'P', psid: '4321', action }).recipient).toEqual({ id: '4321' });
  });

  it('uses /me when the step has no page id, and keeps a base-URL path prefix', async () => {
    const graph = await fakeGraph();
    await client(`${graph.url}/graph/`).sendAction({
      pageId: ' ',
      psid: 'PSID1',
      action: { sender_action: 'mark_seen' },
    });
    expect(new URL(graph.seen[0]?.url ?? '', graph.url).pathname).toBe('/graph/v25.0/me/messages');
  });

  it('reuses one keep-alive connection for many sequential calls', async () => {
    const graph = await fakeGraph();
    const c = client(graph.url);
    for (let i = 0; i < 25; i += 1) {
      const r = await c.sendAction({
        pageId: 'PAGE1',
        psid: `U${i}`,
        action: { sender_action: 'typing_on' },
      });
      expect(r.ok).toBe(true);
    }
    expect(graph.seen).toHaveLength(25);
    expect(graph.connections()).toBe(1);
  });

  it('opens no new connection for a second wave of concurrent calls (groups in parallel)', async () => {
    const graph = await fakeGraph();
    const c = client(graph.url);
    const wave = () =>
      Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          c.sendAction({ pageId: 'PAGE1', psid: `U${i}`, action: { sender_action: 'mark_seen' } }),
        ),
      );
    await wave();
    await new Promise((resolve) => setImmediate(resolve));
    const afterFirstWave = graph.connections();
    expect(afterFirstWave).toBeLessThanOrEqual(8);
    await wave();
    expect(graph.connections()).toBe(afterFirstWave);
    expect(graph.seen).toHaveLength(16);
  });

  it('reports a request that outlives GRAPH_TIMEOUT_MS as a transient timeout', async () => {
    const graph = await fakeGraph(() => ({ hang: true }));
    const result = await client(graph.url, { timeoutMs: 150 }).sendAction({
      pageId: 'PAGE1',
      psid: 'PSID1',
      action: { sender_action: 'typing_on' },
    });
    expect(result).toMatchObject({ ok: false, kind: 'transient', status: 0, reason: 'timeout' });
    // The request was written before the deadline: Meta may have it.
    expect(result).toMatchObject({ outcomeUnknown: true });
  });

  it('reports a refused connection as transient without throwing', async () => {
    const graph = await fakeGraph();
    const url = graph.url;
    await graph.close();
    const result = await client(url).sendAction({
      pageId: 'P',
      psid: 'U',
      action: { sender_action: 'mark_seen' },
    });
    expect(result).toMatchObject({ ok: false, kind: 'transient', status: 0 });
    // Refused before a byte was written: provably not sent, so even a message may be retried.
    expect(result).not.toHaveProperty('outcomeUnknown');
  });

  it('cannot tell whether a request reached Graph when the socket closes before an answer', async () => {
    const server = createServer((req) => req.on('end', () => req.socket.destroy()).resume());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const result = await client(`http://127.0.0.1:${port}`).sendAction({
        pageId: 'P',
        psid: 'U',
        action: { message: { text: 'hi' } },
      });
      expect(result).toMatchObject({ ok: false, kind: 'transient', status: 0, outcomeUnknown: true });
    } finally {
      server.close();
    }
  });

  it('treats an error body on HTTP 200 as an error', async () => {
    const graph = await fakeGraph(() => ({
      status: 200,
      body: '{ "error": {"message": "too large","code": 36000 }}',
    }));
    const result = await client(graph.url).sendAction({
      pageId: 'P',
      psid: 'U',
      action: { message: { text: 'x' } },
    });
    expect(result).toMatchObject({ ok: false, kind: 'permanent', status: 200, code: 36000 });
  });

  it('counts a 2xx without a Graph success body as sent, flagged (no retry: no duplicate messages)', async () => {
    const graph = await fakeGraph(() => ({ status: 200, body: '<html>ok</html>' }));
    const result = await client(graph.url).sendAction({
      pageId: 'P',
      psid: 'U',
      action: { message: { text: 'x' } },
    });
    expect(result).toMatchObject({ ok: true, unexpectedBody: true });
    expect(interpretGraphResponse(200, '{"recipient_id":"1","message_id":"m"}')).toEqual({ ok: true });
    expect(interpretGraphResponse(204, '')).toEqual({ ok: true, unexpectedBody: true });
  });

  it('classifies a 5xx HTML page as transient', async () => {
    const graph = await fakeGraph(() => ({
      status: 502,
      headers: { 'content-type': 'text/html' },
      body: '<html>Bad Gateway</html>',
    }));
    const result = await client(graph.url).sendAction({
      pageId: 'PAGE1',
      psid: 'U',
      action: { sender_action: 'typing_on' },
    });
    expect(result).toMatchObject({ ok: false, kind: 'transient', status: 502 });
  });
});

/** A deadline no step before the server's silence can reach, even on a machine under full load. */
const LOADED_MACHINE_MS = 3000;

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/tls/${name}`, import.meta.url));
const TLS = { key: fixture('localhost-key.pem'), cert: fixture('localhost-cert.pem') };

/** Listens on 127.0.0.1 and closes with the test (every socket it accepted destroyed). */
const listening = async (server: Server) => {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
};

const send = (c: GraphClient, action: Action = { message: { text: 'hi' } }) =>
  c.sendAction({ pageId: 'P', psid: 'U', action });

describe('transport: keep-alive over node:http(s)', () => {
  it('reuses an idle connection after 5 s (built-in fetch drops its idle sockets after 4 s)', async () => {
    const graph = await fakeGraph();
    const c = client(graph.url);
    expect((await send(c)).ok).toBe(true);
    // A real wait: a slower machine only waits longer, which cannot make a shorter idle window pass.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect((await send(c)).ok).toBe(true);
    expect(graph.connections()).toBe(1);
  }, 15_000);

  it('closes a connection idle past its window itself, and opens a new one for the next call', async () => {
    const graph = await fakeGraph();
    const c = client(graph.url, { agent: keepAliveAgent({ protocol: 'http:', idleMs: 100 }) });
    expect((await send(c)).ok).toBe(true);
    await until(() => graph.closed() === 1, 5_000, 'the client closing its idle socket');
    expect((await send(c)).ok).toBe(true);
    expect(graph.connections()).toBe(2);
  });
});

describe('transport: no answer — provably not sent, or Meta may have it', () => {
  it('a call waiting for a free connection when its deadline fires is provably not sent', async () => {
    const graph = await fakeGraph(() => ({ hang: true }));
    const agent = keepAliveAgent({ protocol: 'http:', connections: 1 });
    const holding = send(client(graph.url, { agent, timeoutMs: 1_000 }));
    const waiting = await send(client(graph.url, { agent, timeoutMs: 150 }));
    expect(waiting).toMatchObject({ ok: false, kind: 'transient', status: 0, reason: 'timeout' });
    expect(waiting).not.toHaveProperty('outcomeUnknown');
    expect(await holding).toMatchObject({ ok: false, reason: 'timeout', outcomeUnknown: true });
  });

  it('a waiting call handed the freed connection has its request out: its deadline leaves it unknown', async () => {
    let answered = false;
    const graph = await fakeGraph(() => {
      if (answered) return { hang: true };
      answered = true;
      return {};
    });
    const c = client(graph.url, { connections: 1, timeoutMs: 300 });
    const [first, second] = await Promise.all([send(c), send(c)]);
    expect(first.ok).toBe(true);
    expect(graph.connections()).toBe(1);
    expect(second).toMatchObject({ ok: false, reason: 'timeout', outcomeUnknown: true });
  });

  it('a reset after the server read the request leaves the outcome unknown', async () => {
    const port = await listening(
      createServer((req) => req.on('end', () => req.socket.resetAndDestroy()).resume()),
    );
    const result = await send(client(`http://127.0.0.1:${port}`));
    expect(result).toMatchObject({ ok: false, kind: 'transient', status: 0, outcomeUnknown: true });
    expect(result.ok || result.reason).toContain('ECONNRESET');
  });

  it('the deadline covers the body: headers then silence leave the outcome unknown', async () => {
    const port = await listening(
      createServer((req, res) => req.on('end', () => res.writeHead(200).write('{"recipient_')).resume()),
    );
    // The deadline must outlast the request and the headers on a loaded machine: only the silence ends it.
    const result = await send(client(`http://127.0.0.1:${port}`, { timeoutMs: LOADED_MACHINE_MS }));
    expect(result).toMatchObject({ ok: false, status: 0, reason: 'timeout', outcomeUnknown: true });
  });

  it('a TLS handshake still unfinished at the deadline is provably not sent (nothing left but the hello)', async () => {
    // A TCP listener that accepts and never answers the ClientHello: connected, but no TLS, so no request.
    const port = await listening(createNetServer(() => {}));
    const result = await send(client(`https://127.0.0.1:${port}`, { timeoutMs: 200 }));
    expect(result).toMatchObject({ ok: false, kind: 'transient', status: 0, reason: 'timeout' });
    expect(result).not.toHaveProperty('outcomeUnknown');
  });

  it('a certificate that fails verification is provably not sent', async () => {
    const port = await listening(createHttpsServer(TLS, (_req, res) => res.end('{"recipient_id":"1"}')));
    const result = await send(client(`https://127.0.0.1:${port}`));
    expect(result).toMatchObject({ ok: false, kind: 'transient', status: 0 });
    expect(result.ok || result.reason).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(result).not.toHaveProperty('outcomeUnknown');
  });

  it('once the TLS handshake is done, the deadline leaves the outcome unknown (first and reused socket)', async () => {
    let answered = false;
    const port = await listening(
      createHttpsServer(TLS, (req, res) => {
        req.resume();
        if (!answered) res.end('{"recipient_id":"1"}');
        answered = true;
      }),
    );
    const trusting = new HttpsAgent({ keepAlive: true, ca: TLS.cert });
    // The deadline must outlast a TLS handshake on a loaded machine: only the server's silence ends it.
    const c = client(`https://127.0.0.1:${port}`, { agent: trusting, timeoutMs: LOADED_MACHINE_MS });
    expect(await send(c)).toMatchObject({ ok: true });
    expect(await send(c)).toMatchObject({ ok: false, reason: 'timeout', outcomeUnknown: true });
    const fresh = client(`https://127.0.0.1:${port}`, {
      agent: new HttpsAgent({ ca: TLS.cert }),
      timeoutMs: LOADED_MACHINE_MS,
    });
    expect(await send(fresh)).toMatchObject({ ok: false, reason: 'timeout', outcomeUnknown: true });
  });
});

describe('transport: the answer as read', () => {
  it('reads the first of repeated usage headers, as Graph sends them', async () => {
    const graph = await fakeGraph(() => ({
      headers: { 'x-app-usage': ['{"call_count":50}', '{"call_count":10}'] },
    }));
    const c = client(graph.url);
    expect((await send(c)).ok).toBe(true);
    expect(c.usage()).toMatchObject({ maxPercent: 50 });
  });

  it('decodes a utf8 body whose characters are split across chunks', async () => {
    const body = Buffer.from('{"error":{"code":100,"message":"réponse 👋 refusée"}}');
    const cut = body.indexOf('👋') + 2;
    const port = await listening(
      createServer((req, res) =>
        req
          .on('end', () => {
            res.writeHead(400, { 'content-type': 'application/json' });
            res.write(body.subarray(0, cut));
            setTimeout(() => res.end(body.subarray(cut)), 20);
          })
          .resume(),
      ),
    );
    const result = await send(client(`http://127.0.0.1:${port}`));
    expect(result).toMatchObject({ ok: false, kind: 'permanent', status: 400, reason: 'réponse 👋 refusée' });
  });
});

describe('usage headers', () => {
  it('reads the highest percentage and the regain time from app and business-use-case headers', () => {
    const usage = parseUsage({
      'x-app-usage': '{"call_count":28,"total_time":25,"total_cputime":25}',
      'x-business-use-case-usage': JSON.stringify({
        '1234': [
          {
            type: 'messenger',
            call_count: 95,
            total_cputime: 10,
            total_time: 12,
            estimated_time_to_regain_access: 3,
          },
        ],
      }),
    });
    expect(usage).toEqual({ maxPercent: 95, regainAccessMs: 180_000 });
  });

  it('ignores absent or malformed headers', () => {
    expect(parseUsage({})).toBeUndefined();
    expect(parseUsage({ 'x-app-usage': 'not json', 'x-business-use-case-usage': '[1,2]' })).toBeUndefined();
    expect(parseUsage({ 'x-business-use-case-usage': '{"1":"x","2":[null,{"call_count":"7"}]}' })).toEqual({
      maxPercent: 7,
      regainAccessMs: 0,
    });
  });

  it('keeps the latest reading on the client and turns a throttle regain time into retryAfterMs', async () => {
    const graph = await fakeGraph(() => ({
      status: 400,
      headers: {
        'x-business-use-case-usage':
          '{"9":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":5}]}',
      },
      body: '{"error":{"message":"(#80001) too many calls","code":80001,"fbtrace_id":"T"}}',
    }));
    const c = client(graph.url);
    expect(c.usage()).toBeUndefined();
    const result = await c.sendAction({ pageId: 'P', psid: 'U', action: { sender_action: 'typing_on' } });
    expect(result).toMatchObject({ ok: false, kind: 'transient', retryAfterMs: 300_000 });
    expect(c.usage()).toMatchObject({ maxPercent: 100, regainAccessMs: 300_000 });
  });

  it('honours Retry-After on 429', () => {
    expect(interpretGraphResponse(429, 'slow down', { 'retry-after': '30' })).toMatchObject({
      ok: false,
      kind: 'transient',
      retryAfterMs: 30_000,
    });
  });
});

const body = (error: Record<string, unknown>) => ({ error });

describe('classifyGraphError', () => {
  const table: [string, number, unknown, 'transient' | 'permanent', Record<string, unknown>?][] = [
    ['code 1 unknown error', 400, body({ code: 1 }), 'transient'],
    ['code 2 service', 400, body({ code: 2 }), 'transient'],
    ['code 4 app throttled', 400, body({ code: 4 }), 'transient'],
    ['code 17 user throttled', 400, body({ code: 17 }), 'transient'],
    ['code 32 page throttled', 400, body({ code: 32 }), 'transient'],
    ['code 341 app limit', 400, body({ code: 341 }), 'transient'],
    ['code 613 rate limit', 400, body({ code: 613 }), 'transient'],
    ['code 1200 temporary send failure', 400, body({ code: 1200, error_subcode: 2018024 }), 'transient'],
    [
      'code -1 / 2018012 unexpected internal error',
      400,
      body({ code: -1, error_subcode: 2018012 }),
      'transient',
    ],
    ['code 80006 Messenger business-use-case throttle', 400, body({ code: 80006 }), 'transient'],
    ['is_transient on an unknown code', 400, body({ code: 987654, is_transient: true }), 'transient'],
    ['HTTP 500 without a body', 500, undefined, 'transient'],
    ['HTTP 503 HTML', 503, '<html>down</html>', 'transient'],
    ['HTTP 429 without a code', 429, undefined, 'transient'],
    ['no response (status 0)', 0, undefined, 'transient'],
    ['code 190 token', 400, body({ code: 190, error_subcode: 463 }), 'permanent', { tokenInvalid: true }],
    [
      'code 190 on HTTP 500 is still a token problem',
      500,
      body({ code: 190 }),
      'permanent',
      { tokenInvalid: true },
    ],
    ['code 2500 no active token', 400, body({ code: 2500 }), 'permanent', { tokenInvalid: true }],
    ['code 10 / 2018278 outside window', 400, body({ code: 10, error_subcode: 2018278 }), 'permanent'],
    ['code 10 / 2018065 outside window', 400, body({ code: 10, error_subcode: 2018065 }), 'permanent'],
    [
      'code 10 / 2018108 not receiving',
      400,
      body({ code: 10, error_subcode: 2018108 }),
      'permanent',
      { recipientUnreachable: true },
    ],
    ['code 10 / 1893063 page restricted', 400, body({ code: 10, error_subcode: 1893063 }), 'permanent'],
    [
      'code 551 unavailable',
      400,
      body({ code: 551, error_subcode: 1545041 }),
      'permanent',
      { recipientUnreachable: true },
    ],
    ['code 100 invalid parameter', 400, body({ code: 100 }), 'permanent'],
    ['code 200 permission', 403, body({ code: 200 }), 'permanent'],
    ['code 230 permission', 403, body({ code: 230 }), 'permanent'],
    ['code 299 permission', 400, body({ code: 299 }), 'permanent'],
    ['code 368 content blocked', 400, body({ code: 368, error_subcode: 1346003 }), 'permanent'],
    ['code 36000', 400, body({ code: 36000 }), 'permanent'],
    ['unknown code', 400, body({ code: 424242 }), 'permanent'],
    [
      'unknown code on HTTP 502 (known codes decide, unknown ones follow the status)',
      502,
      body({ code: 424242 }),
      'transient',
    ],
    ['numeric-string code', 400, body({ code: '613' }), 'transient'],
  ];

  for (const [name, status, input, kind, flags] of table) {
    it(`${name} → ${kind}`, () => {
      const result = classifyGraphError(status, input);
      expect(result.kind).toBe(kind);
      expect(result.status).toBe(status);
      if (flags) expect(result).toMatchObject(flags);
      else {
        expect(result.tokenInvalid).toBeUndefined();
        expect(result.recipientUnreachable).toBeUndefined();
      }
    });
  }

  it('extracts code, subcode, type, fbtrace_id and message', () => {
    expect(
      classifyGraphError(
        400,
        body({
          message: '(#100) Invalid',
          type: 'OAuthException',
          code: 100,
          error_subcode: 2018001,
          fbtrace_id: 'AbC',
        }),
      ),
    ).toEqual({
      ok: false,
      kind: 'permanent',
      status: 400,
      code: 100,
      subcode: 2018001,
      type: 'OAuthException',
      fbtraceId: 'AbC',
      reason: '(#100) Invalid',
    });
  });

  it('truncates long messages', () => {
    const reason = classifyGraphError(400, body({ code: 100, message: 'x'.repeat(5000) })).reason;
    expect(reason.length).toBeLessThanOrEqual(301);
  });

  it('never throws on any status and body, and always names a kind and a reason (property)', () => {
    const odd = fc.oneof(
      fc.anything(),
      fc.jsonValue(),
      fc.record({ error: fc.anything() }),
      fc.record({
        error: fc.record(
          {
            code: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.double()),
            error_subcode: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
            message: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
            error_data: fc.oneof(fc.string(), fc.object()),
            is_transient: fc.oneof(fc.boolean(), fc.string()),
            fbtrace_id: fc.oneof(fc.string(), fc.integer()),
          },
          { requiredKeys: [] },
        ),
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), odd, (status, input) => {
        const result = classifyGraphError(status, input);
        expect(['transient', 'permanent']).toContain(result.kind);
        expect(typeof result.reason).toBe('string');
        expect(result.reason.length).toBeGreaterThan(0);
      }),
    );
  });

  it('interprets any response text without throwing (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.oneof(fc.string(), fc.json()), (status, text) => {
        const result = interpretGraphResponse(status, text, {});
        expect(typeof result.ok).toBe('boolean');
      }),
    );
  });
});

describe('secrets stay out of results', () => {
  it('redacts the token and proof from a Graph message that echoes the request URL', async () => {
    const graph = await fakeGraph((seen) => ({
      status: 400,
      body: JSON.stringify({ error: { code: 100, message: `bad request ${seen.url} token ${TOKEN}` } }),
    }));
    const result = await client(graph.url).sendAction({
      pageId: 'P',
      psid: 'U',
      action: { sender_action: 'mark_seen' },
    });
    const text = JSON.stringify(result);
    expect(result.ok).toBe(false);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(PROOF);
    expect(text).not.toContain(SECRET);
    expect(text).toContain('[redacted]');
  });

  it('redacts a transport error whose message carries the full URL', async () => {
    // An agent whose connection fails with the request's URL (token and proof in its query): node:http hands
    // createConnection the request URL's fields (href among them); the callback takes a stream it ignores.
    const leaky = new HttpsAgent();
    leaky.createConnection = (options, created) => {
      const { href } = options as { href?: string };
      created?.(new Error(`socket hang up at ${href}`), new PassThrough());
      return undefined;
    };
    const result = await client('https://graph.facebook.com', { agent: leaky }).sendAction({
      pageId: 'P',
      psid: 'U',
      action: { sender_action: 'mark_seen' },
    });
    expect(result).toMatchObject({ ok: false, kind: 'transient', status: 0 });
    const text = JSON.stringify(result);
    expect(text).toContain('socket hang up at https://graph.facebook.com/v25.0/P/messages?access_token=');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(PROOF);
  });
});
