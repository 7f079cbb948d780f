import { afterEach, describe, expect, test } from 'vitest';
import {
  describeCall,
  type GraphCall,
  type GraphFake,
  graphErrors,
  startGraphFake,
} from '../infra/local/graph-fake.ts';
import { type GraphClient, graphClient } from '../lib/graph.ts';
import { appSecretProof } from '../lib/signature.ts';

const SECRET = 'local-app-secret-123';
const TOKEN = 'local-page-token-456';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const setup = async (print?: (line: string) => void) => {
  const graph = await startGraphFake({
    appSecret: SECRET,
    accessToken: TOKEN,
    version: 'v25.0',
    ...(print && { print }),
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
