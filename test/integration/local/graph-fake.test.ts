import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { appSecretProof } from '../../../lib/meta/graph/app-secret-proof.ts';
import { type GraphClient, graphClient } from '../../../lib/meta/graph/client.ts';
import { LOCAL_SECRETS } from '../../../local/defaults.ts';
import {
  describeCall,
  type GraphCall,
  type GraphFake,
  graphErrors,
  graphFakeCliOptions,
  latencyFrom,
  MAX_LATENCY_MS,
  type ServedCall,
  startGraphFake,
} from '../../../local/graph-fake.ts';

const SECRET = 'local-app-secret-123';
const TOKEN = 'local-page-token-456';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const setup = async (
  print?: (line: string) => void,
  extra: { latencyMs?: number; sleep?: (ms: number) => Promise<void> } = {},
) => {
  const graph = await startGraphFake({
    appSecret: SECRET,
    accessToken: TOKEN,
    version: 'v25.0',
    ...(print && { print }),
    ...extra,
  });
  cleanups.push(graph.stop);
  const client = (token = TOKEN, secret = SECRET): GraphClient => {
    const c = graphClient({
      baseUrl: graph.url,
      version: 'v25.0',
      accessToken: token,
      appSecret: secret,
      timeoutMs: 2000,
    });
    cleanups.push(c.close);
    return c;
  };
  return { graph, client };
};

const post = (
  graph: GraphFake,
  body: unknown,
  query = `access_token=${TOKEN}&appsecret_proof=${appSecretProof(TOKEN, SECRET)}`,
) =>
  fetch(`${graph.url}/v25.0/me/messages?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

describe('local Graph Send API', () => {
  test('accepts the real Graph client and answers each call as Graph does, recording them in order', async () => {
    const { graph, client } = await setup();
    const c = client();
    const send = (action: Parameters<GraphClient['sendAction']>[0]['action']) =>
      c.sendAction({ pageId: '1234', psid: 'u1', action });
    expect((await send({ sender_action: 'mark_seen' })).ok).toBe(true);
    expect((await send({ sender_action: 'typing_on' })).ok).toBe(true);
    const reply = await send({
      message: { text: 'Hi!', quick_replies: [{ content_type: 'text', title: 'Yes', payload: 'YES' }] },
    });
    expect(reply).toMatchObject({ ok: true });
    expect(reply).not.toHaveProperty('unexpectedBody');
    await send({ sender_action: 'react', payload: { message_id: 'm_1', reaction: 'love' } });
    expect(graph.callsFor('u1').map((x) => x.kind)).toEqual(['mark_seen', 'typing_on', 'message', 'react']);
    expect(graph.calls.map((x) => x.pageId)).toEqual(['1234', '1234', '1234', '1234']);
    expect(graph.calls[2]?.response).toEqual({
      recipient_id: 'u1',
      message_id: expect.stringMatching(/^m_/),
    });
    expect(graph.calls[0]?.response).toEqual({ recipient_id: 'u1' });
    expect(graph.calls.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
  });

  test('rejects a wrong page token (190) and a wrong appsecret_proof (100), as Graph does', async () => {
    const { graph, client } = await setup();
    const badToken = await client('other-token').sendAction({
      pageId: 'me',
      psid: 'u',
      action: { sender_action: 'mark_seen' },
    });
    expect(badToken).toMatchObject({ ok: false, kind: 'permanent', code: 190, tokenInvalid: true });
    const badProof = await client(TOKEN, 'other-secret').sendAction({
      pageId: 'me',
      psid: 'u',
      action: { sender_action: 'mark_seen' },
    });
    expect(badProof).toMatchObject({ ok: false, kind: 'permanent', code: 100 });
    expect(
      (await post(graph, { recipient: { id: 'u' }, sender_action: 'mark_seen' }, `access_token=${TOKEN}`))
        .status,
    ).toBe(400);
    expect(graph.callsFor('u')).toEqual([]);
  });

  test.each([
    [
      'a sender action together with a message',
      { sender_action: 'typing_on', message: { text: 'x' }, messaging_type: 'RESPONSE' },
    ],
    ['a message without messaging_type', { message: { text: 'x' } }],
    ['a sender action with messaging_type', { sender_action: 'typing_on', messaging_type: 'RESPONSE' }],
    ['an unknown sender action', { sender_action: 'dance' }],
    ['a react without payload', { sender_action: 'react' }],
    [
      'a message with text and attachment',
      {
        messaging_type: 'RESPONSE',
        message: { text: 'x', attachment: { type: 'image', payload: { url: 'https://x.test/a.png' } } },
      },
    ],
  ])('rejects %s with a Graph #100 error', async (_name, shape) => {
    const { graph } = await setup();
    const r = await post(graph, { recipient: { id: 'u' }, ...shape });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { code: 100, type: 'OAuthException' } });
  });

  test('rejects a body without recipient', async () => {
    const { graph } = await setup();
    expect((await post(graph, { sender_action: 'mark_seen' })).status).toBe(400);
  });

  test('injects scripted faults per user, in order, leaving other users alone', async () => {
    const { graph, client } = await setup();
    const c = client();
    graph.inject({ psid: 'slow' }, { delayMs: 50 });
    graph.inject({ psid: 'flaky' }, graphErrors.transient, graphErrors.temporarySendFailure);
    graph.inject({ psid: 'gone', kind: 'message' }, graphErrors.personUnavailable);
    graph.inject({ psid: 'cut' }, { drop: true });
    const seen = { sender_action: 'mark_seen' } as const;
    const text = { message: { text: 'x' } } as const;
    expect(await c.sendAction({ pageId: 'me', psid: 'other', action: seen })).toMatchObject({ ok: true });
    expect(await c.sendAction({ pageId: 'me', psid: 'flaky', action: seen })).toMatchObject({
      ok: false,
      kind: 'transient',
      code: 2,
    });
    expect(await c.sendAction({ pageId: 'me', psid: 'flaky', action: seen })).toMatchObject({
      ok: false,
      kind: 'transient',
      code: 1200,
    });
    expect(await c.sendAction({ pageId: 'me', psid: 'flaky', action: seen })).toMatchObject({ ok: true });
    expect(await c.sendAction({ pageId: 'me', psid: 'gone', action: seen })).toMatchObject({ ok: true });
    expect(await c.sendAction({ pageId: 'me', psid: 'gone', action: text })).toMatchObject({
      ok: false,
      kind: 'permanent',
      recipientUnreachable: true,
    });
    expect(await c.sendAction({ pageId: 'me', psid: 'cut', action: seen })).toMatchObject({
      ok: false,
      status: 0,
    });
    const slow = await c.sendAction({ pageId: 'me', psid: 'slow', action: seen });
    expect(slow.ok).toBe(true);
    const slowCall = graph.callsFor('slow')[0];
    expect((slowCall?.answeredAt ?? 0) - (slowCall?.at ?? 0)).toBeGreaterThanOrEqual(50);
    expect(graph.calls.filter((x) => x.injected).map((x) => x.psid)).toEqual([
      'flaky',
      'flaky',
      'gone',
      'cut',
    ]);
  });

  test('tells subscribers about every call and prints the conversation with the gaps', async () => {
    const lines: string[] = [];
    const { graph, client } = await setup((l) => lines.push(l));
    const events: GraphCall[] = [];
    const unsubscribe = graph.subscribe((call) => events.push(call));
    const c = client();
    await c.sendAction({ pageId: 'me', psid: 'u', action: { sender_action: 'mark_seen' } });
    await c.sendAction({ pageId: 'me', psid: 'u', action: { sender_action: 'typing_on' } });
    await c.sendAction({ pageId: 'me', psid: 'u', action: { message: { text: 'Hello there' } } });
    unsubscribe();
    await c.sendAction({ pageId: 'me', psid: 'u', action: { sender_action: 'typing_off' } });
    expect(events.map((e) => e.kind)).toEqual(['mark_seen', 'typing_on', 'message']);
    expect(lines[0]).toContain('👀 seen');
    expect(lines[0]).not.toMatch(/\+\d/);
    expect(lines[1]).toMatch(/\+\d+\.\d\ds \[u\] … typing/);
    expect(lines[2]).toContain('💬 Hello there');
    expect(lines[3]).toContain('stopped typing');
  });

  test('describes reactions, attachments and errors on one line', () => {
    const base = {
      seq: 1,
      at: 0,
      answeredAt: 0,
      pageId: 'me',
      version: 'v25.0',
      psid: 'u',
      body: {},
      injected: false,
    };
    expect(
      describeCall(
        {
          ...base,
          status: 200,
          response: {},
          action: { sender_action: 'react', payload: { message_id: 'm', reaction: '❤' } },
        },
        1500,
      ),
    ).toBe(' +1.50s [u] ❤ reacted');
    expect(
      describeCall(
        {
          ...base,
          status: 200,
          response: {},
          action: { message: { attachment: { type: 'image', payload: { url: 'https://x.test/a.png' } } } },
        },
        undefined,
      ),
    ).toContain('💬 [image]');
    expect(
      describeCall({ ...base, status: 400, response: graphErrors.personUnavailable.body }, 10),
    ).toContain('✖ Graph 400 (#551)');
  });
});

/** A sleep the test releases by hand: records what the fake asked for, answers nothing until told. */
const heldSleep = () => {
  const asked: number[] = [];
  const waiting: (() => void)[] = [];
  let onAsk: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      asked.push(ms);
      waiting.push(resolve);
      onAsk?.();
    });
  const nextAsk = () =>
    new Promise<void>((resolve) => {
      onAsk = resolve;
    });
  const releaseAll = () => {
    for (const resolve of waiting.splice(0)) resolve();
  };
  return { sleep, asked, nextAsk, releaseAll };
};

describe('local Graph latency', () => {
  test('holds every answer back by latencyMs and answers only once that wait is over', async () => {
    const held = heldSleep();
    const { graph } = await setup(undefined, { latencyMs: 150, sleep: held.sleep });
    let settled = false;
    const asked = held.nextAsk();
    const answer = post(graph, { recipient: { id: 'u' }, sender_action: 'typing_on' }).finally(() => {
      settled = true;
    });
    await asked;
    expect(held.asked).toEqual([150]);
    expect(settled).toBe(false);
    expect(graph.calls).toEqual([]);
    held.releaseAll();
    expect(await answer).toEqual({ status: 200, body: { recipient_id: 'u' } });
    expect(graph.callsFor('u').map((c) => c.kind)).toEqual(['typing_on']);
  });

  test('delays Graph errors too, and adds an injected fault delay to the latency', async () => {
    const held = heldSleep();
    const { graph } = await setup(undefined, { latencyMs: 120, sleep: held.sleep });
    graph.inject({ psid: 'slow' }, { delayMs: 30 });
    const asks = [held.nextAsk()];
    const rejected = post(
      graph,
      { recipient: { id: 'u' }, sender_action: 'mark_seen' },
      'access_token=wrong',
    );
    await asks[0];
    const faulted = held.nextAsk();
    const slow = post(graph, { recipient: { id: 'slow' }, sender_action: 'mark_seen' });
    await faulted;
    held.releaseAll();
    expect((await rejected).status).toBe(400);
    expect((await slow).status).toBe(200);
    expect(held.asked).toEqual([120, 150]);
  });

  test('answers without waiting when no latency is set', async () => {
    const held = heldSleep();
    const { graph } = await setup(undefined, { sleep: held.sleep });
    expect((await post(graph, { recipient: { id: 'u' }, sender_action: 'mark_seen' })).status).toBe(200);
    expect(held.asked).toEqual([]);
  });

  test('reads whole milliseconds from 0 to the maximum, unset meaning none', () => {
    expect(latencyFrom(undefined, 'X')).toBe(0);
    expect(latencyFrom(' ', 'X')).toBe(0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_LATENCY_MS }), (ms) => {
        expect(latencyFrom(String(ms), 'X')).toBe(ms);
      }),
    );
  });

  test('rejects any other latency with a message naming the setting', async () => {
    const invalid = fc.oneof(
      fc.integer({ max: -1 }).map(String),
      fc.integer({ min: MAX_LATENCY_MS + 1 }).map(String),
      fc
        .double({ noNaN: true })
        .filter((d) => !Number.isInteger(d))
        .map(String),
      fc.string().filter((t) => t.trim() !== '' && !Number.isFinite(Number(t))),
    );
    fc.assert(
      fc.property(invalid, (raw) => {
        expect(() => latencyFrom(raw, 'ELLIPSIS_GRAPH_LATENCY_MS')).toThrow(
          /^ELLIPSIS_GRAPH_LATENCY_MS must be/,
        );
      }),
    );
    await expect(startGraphFake({ appSecret: SECRET, accessToken: TOKEN, latencyMs: -1 })).rejects.toThrow(
      /latencyMs/,
    );
  });
});

describe('local Graph as a command', () => {
  test('takes flags over the environment, and local values when neither is given', () => {
    const env = {
      ELLIPSIS_GRAPH_LATENCY_MS: '200',
      ELLIPSIS_GRAPH_PORT: '3999',
      META_APP_SECRET: 'env-secret',
      META_PAGE_ACCESS_TOKEN: 'env-token',
    };
    expect(graphFakeCliOptions([], env)).toMatchObject({
      latencyMs: 200,
      port: 3999,
      appSecret: 'env-secret',
      accessToken: 'env-token',
    });
    expect(
      graphFakeCliOptions(
        [
          '--latency-ms',
          '150',
          '--port',
          '0',
          '--app-secret',
          'a',
          '--access-token',
          't',
          '--version',
          'v25.0',
        ],
        env,
      ),
    ).toMatchObject({ latencyMs: 150, port: 0, appSecret: 'a', accessToken: 't', version: 'v25.0' });
    expect(graphFakeCliOptions([], {})).toMatchObject({
      latencyMs: 0,
      port: 0,
      appSecret: LOCAL_SECRETS.META_APP_SECRET,
      accessToken: LOCAL_SECRETS.META_PAGE_ACCESS_TOKEN,
    });
    expect(() => graphFakeCliOptions(['--latency-ms', '1.5'], {})).toThrow(/--latency-ms must be/);
    expect(() => graphFakeCliOptions(['--port', '70000'], {})).toThrow(/--port must be/);
    expect(() => graphFakeCliOptions(['--bogus'], {})).toThrow();
  });

  test('runs in its own process: prints where it listens, serves the calls once, stops when stdin closes', async () => {
    const script = new URL('../../../local/graph-fake.ts', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [script, '--latency-ms', '0', '--port', '0', '--app-secret', SECRET, '--access-token', TOKEN],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const first = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout }).once('line', resolve),
    );
    const info = JSON.parse(first) as { url: string; callsUrl: string; latencyMs: number };
    expect(info.latencyMs).toBe(0);
    const c = graphClient({
      baseUrl: info.url,
      version: 'v25.0',
      accessToken: TOKEN,
      appSecret: SECRET,
      timeoutMs: 2000,
    });
    cleanups.push(c.close);
    expect(
      await c.sendAction({ pageId: 'me', psid: 'cli', action: { message: { text: 'from a child' } } }),
    ).toMatchObject({ ok: true });
    const calls = (await (await fetch(info.callsUrl)).json()) as ServedCall[];
    expect(calls).toEqual([
      { at: expect.any(Number), psid: 'cli', kind: 'message', status: 200, text: 'from a child' },
    ]);
    expect(await (await fetch(info.callsUrl)).json()).toEqual([]);
    child.stdin.end();
    expect(await exited).toBe(0);
  });
});

describe('one-token mode with the Page named', () => {
  test("refuses the Page's token on another Page's id as Graph does (code 100, subcode 33)", async () => {
    const fake = await startGraphFake({ appSecret: 'sec', accessToken: 'tok', pageId: '111' });
    try {
      const send = (page: string) =>
        fetch(
          `${fake.url}/v23.0/${page}/messages?access_token=tok&appsecret_proof=${appSecretProof('tok', 'sec')}`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ recipient: { id: '42' }, sender_action: 'mark_seen' }),
          },
        );
      expect((await send('111')).status).toBe(200);
      const foreign = await send('222');
      expect(foreign.status).toBe(400);
      expect(await foreign.json()).toMatchObject({
        error: { code: 100, error_subcode: 33, type: 'GraphMethodException' },
      });
    } finally {
      await fake.stop();
    }
  });
});
