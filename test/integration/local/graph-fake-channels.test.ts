import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appSecretProof } from '../../../lib/meta/graph/app-secret-proof.ts';
import { type GraphFake, startGraphFake } from '../../../local/graph-fake.ts';

const SECRET = 'fake-channels-app-secret';
const ACCOUNTS = [
  { id: 'IG_ACCOUNT', channel: 'instagram', accessToken: 'token-instagram' },
  { id: '106540352242955', channel: 'whatsapp', accessToken: 'token-whatsapp' },
  { id: 'PAGE_A', channel: 'messenger', accessToken: 'token-page-a' },
] as const;

let graph: GraphFake;
beforeAll(async () => {
  graph = await startGraphFake({ appSecret: SECRET, accessToken: 'token-default', accounts: ACCOUNTS });
  graph.noteInbound('wamid.IN', '16505550009');
});
afterAll(() => graph?.stop());

const call = async (node: string, token: string, body: unknown) => {
  const query = `access_token=${token}&appsecret_proof=${appSecretProof(token, SECRET)}`;
  const res = await fetch(`${graph.url}/v25.0/${node}/messages?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const wa = (body: unknown, node = '106540352242955') => call(node, 'token-whatsapp', body);

describe('Graph fake: each channel as strict as Meta', () => {
  it('WhatsApp: read + typing needs the message_id of a received message', async () => {
    const typing = { messaging_product: 'whatsapp', status: 'read', typing_indicator: { type: 'text' } };
    const missing = await wa(typing);
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toMatch(/message_id is required/);
    expect((await wa({ ...typing, message_id: 'wamid.NEVER_RECEIVED' })).status).toBe(400);
    expect(await wa({ ...typing, message_id: 'wamid.IN' })).toEqual({ status: 200, body: { success: true } });
    expect(graph.calls.at(-1)).toMatchObject({ channel: 'whatsapp', psid: '16505550009', kind: 'typing_on' });
  });

  it('WhatsApp: messages need messaging_product, to and a typed object within limits, at the number of the token', async () => {
    const text = {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16505550009',
      type: 'text',
      text: { body: 'hi' },
    };
    const ok = await wa(text);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      messaging_product: 'whatsapp',
      messages: [{ id: expect.stringMatching(/^wamid\./) }],
    });
    expect((await wa({ ...text, messaging_product: undefined })).status).toBe(400);
    expect((await wa(text, 'ANOTHER_NUMBER')).status).toBe(400);
    const buttons = Array.from({ length: 4 }, (_, i) => ({
      type: 'reply',
      reply: { id: `b${i}`, title: `B${i}` },
    }));
    const tooMany = {
      ...text,
      type: 'interactive',
      text: undefined,
      interactive: { type: 'button', body: { text: 'x' }, action: { buttons } },
    };
    expect((await wa(tooMany)).status).toBe(400);
    // A Messenger body is not a WhatsApp one.
    expect((await wa({ recipient: { id: '16505550009' }, sender_action: 'typing_on' })).status).toBe(400);
  });

  it('Instagram: /me/messages with the Page token, the love reaction only, no files', async () => {
    const typing = { recipient: { id: 'IGSID1' }, sender_action: 'typing_on' };
    expect((await call('me', 'token-instagram', typing)).status).toBe(200);
    expect(graph.calls.at(-1)).toMatchObject({ channel: 'instagram', psid: 'IGSID1' });
    expect((await call('IG_ACCOUNT', 'token-instagram', typing)).status).toBe(400);
    const react = (reaction: string) => ({
      recipient: { id: 'IGSID1' },
      sender_action: 'react',
      payload: { message_id: 'm', reaction },
    });
    expect((await call('me', 'token-instagram', react('love'))).status).toBe(200);
    expect((await call('me', 'token-instagram', react('👍'))).status).toBe(400);
    const file = {
      recipient: { id: 'IGSID1' },
      messaging_type: 'RESPONSE',
      message: { attachment: { type: 'file', payload: { url: 'https://x.example/a.pdf' } } },
    };
    expect((await call('me', 'token-instagram', file)).status).toBe(400);
  });

  it('Messenger accounts: a token acts only for its own Page', async () => {
    const typing = { recipient: { id: 'PSID1' }, sender_action: 'typing_on' };
    expect((await call('PAGE_A', 'token-page-a', typing)).status).toBe(200);
    expect((await call('PAGE_B', 'token-page-a', typing)).status).toBe(400);
    // The default token (one-token mode) keeps serving any Page, as before.
    expect((await call('ANY_PAGE', 'token-default', typing)).status).toBe(200);
  });
});
