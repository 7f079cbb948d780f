/** The Graph client with channels and per-account tokens: the right node, body and token for each call. */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type GraphClientOptions, graphClient } from '../../../../lib/meta/graph/client.ts';

type Seen = { path: string; body: Record<string, unknown> };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A local Graph on 127.0.0.1 that records every call and answers `answer`. */
const mockGraph = async (
  answer: (seen: Seen) => { status: number; body: unknown } = () => ({
    status: 200,
    body: { success: true },
  }),
) => {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      const call = { path: req.url ?? '', body: JSON.parse(text) as Record<string, unknown> };
      seen.push(call);
      const { status, body } = answer(call);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
};

const client = (url: string, auth: Pick<GraphClientOptions, 'accessToken' | 'accountTokens'>) => {
  const c = graphClient({
    baseUrl: url,
    version: 'v25.0',
    appSecret: 'app-secret-for-tests-0001',
    timeoutMs: 2_000,
    ...auth,
  });
  // Closed before the server (cleanups run in reverse): its idle keep-alive sockets go first.
  cleanups.push(c.close);
  return c;
};

const tokenOf = (path: string) => new URL(path, 'https://x').searchParams.get('access_token');

describe('graph client: channels', () => {
  it('sends each channel to its own node: Page id, me (Instagram), phone-number id (WhatsApp)', async () => {
    const { url, seen } = await mockGraph(() => ({
      status: 200,
      body: { recipient_id: '1', success: true },
    }));
    const graph = client(url, { accessToken: 'EAAsingletoken000001' });
    await graph.sendAction({ pageId: 'PAGE1', psid: 'U1', action: { sender_action: 'typing_on' } });
    await graph.sendAction({
      channel: 'instagram',
      pageId: 'IG1',
      psid: 'U2',
      action: { sender_action: 'typing_on' },
    });
    const wa = await graph.sendAction({
      channel: 'whatsapp',
      pageId: '106540352242922',
      psid: '16505551234',
      inboundMid: 'wamid.IN',
      action: { sender_action: 'typing_on' },
    });
    expect(wa).toMatchObject({ ok: true });
    expect(wa).not.toHaveProperty('unexpectedBody');
    expect(seen.map((s) => s.path.split('?')[0])).toEqual([
      '/v25.0/PAGE1/messages',
      '/v25.0/me/messages',
      '/v25.0/106540352242922/messages',
    ]);
    expect(seen[2]?.body).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: 'wamid.IN',
      typing_indicator: { type: 'text' },
    });
  });

  it('makes no call for a step the channel lacks, and fails one it cannot show without calling', async () => {
    const { url, seen } = await mockGraph();
    const graph = client(url, { accessToken: 'EAAsingletoken000001' });
    const off = await graph.sendAction({
      channel: 'whatsapp',
      pageId: 'P',
      psid: 'U',
      action: { sender_action: 'typing_off' },
    });
    expect(off).toMatchObject({ ok: true, skipped: expect.any(String) });
    const love = { sender_action: 'react' as const, payload: { message_id: 'm', reaction: '👍' } };
    const refused = await graph.sendAction({ channel: 'instagram', pageId: 'IG', psid: 'U', action: love });
    expect(refused).toMatchObject({ ok: false, kind: 'permanent', type: 'ChannelUnsupported' });
    expect(seen).toEqual([]);
  });

  it('classifies WhatsApp codes: a pair-rate 400 is retried after ≥ 6 s, a closed 24 h window is not', async () => {
    const bodies: Record<string, unknown> = {
      pair: {
        error: {
          code: 131056,
          message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
          type: 'OAuthException',
        },
      },
      window: { error: { code: 131047, message: '(#131047) Re-engagement message', type: 'OAuthException' } },
    };
    const { url } = await mockGraph((s) => ({
      status: 400,
      body: bodies[String((s.body.text as { body: string }).body)],
    }));
    const graph = client(url, { accessToken: 'EAAsingletoken000001' });
    const send = (t: string) =>
      graph.sendAction({ channel: 'whatsapp', pageId: 'P', psid: 'U', action: { message: { text: t } } });
    expect(await send('pair')).toMatchObject({
      ok: false,
      kind: 'transient',
      code: 131056,
      retryAfterMs: 6_000,
    });
    expect(await send('window')).toMatchObject({
      ok: false,
      kind: 'permanent',
      code: 131047,
      recipientUnreachable: true,
    });
  });
});

describe('graph client: one token per account', () => {
  it("answers each account with its own token and an unknown one with none (never another account's)", async () => {
    const { url, seen } = await mockGraph(() => ({ status: 200, body: { recipient_id: '1' } }));
    const graph = client(url, {
      accountTokens: { PAGE_A: 'EAAtokenOfPageA00001', PAGE_B: 'EAAtokenOfPageB00002' },
    });
    const typing = { sender_action: 'typing_on' as const };
    await graph.sendAction({ pageId: 'PAGE_A', psid: 'U', action: typing });
    await graph.sendAction({ pageId: 'PAGE_B', psid: 'U', action: typing });
    const unknown = await graph.sendAction({ pageId: 'PAGE_C', psid: 'U', action: typing });
    expect(seen.map((s) => [s.path.split('?')[0], tokenOf(s.path)])).toEqual([
      ['/v25.0/PAGE_A/messages', 'EAAtokenOfPageA00001'],
      ['/v25.0/PAGE_B/messages', 'EAAtokenOfPageB00002'],
    ]);
    expect(unknown).toMatchObject({ ok: false, kind: 'permanent', type: 'UnknownAccount' });
  });

  it('redacts every account token from failure reasons', async () => {
    const { url } = await mockGraph((s) => ({
      status: 400,
      body: { error: { code: 100, message: `bad token ${tokenOf(s.path)}` } },
    }));
    const graph = client(url, {
      accountTokens: { PAGE_A: 'EAAtokenOfPageA00001', PAGE_B: 'EAAtokenOfPageB00002' },
    });
    const result = await graph.sendAction({
      pageId: 'PAGE_B',
      psid: 'U',
      action: { sender_action: 'typing_on' },
    });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('EAAtokenOfPageB00002');
  });
});
