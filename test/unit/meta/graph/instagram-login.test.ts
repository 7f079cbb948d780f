/**
 * Instagram API with Instagram Login beside Page-linked accounts (Meta, Instagram Platform → Messaging API;
 * Sender actions: POST /me/messages): an Instagram-Login account is answered on its own origin
 * (graph.instagram.com, here a second Graph fake) with its own Instagram user token and no appsecret_proof,
 * with the same request shapes; Page-linked accounts keep graph.facebook.com, their Page token and a proof.
 * Also a WhatsApp reply to a business-scoped user id through the fake, which is as strict as the Cloud API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphClient } from '../../../../lib/meta/graph/client.ts';
import { instagramLoginOf } from '../../../../lib/platform/accounts.ts';
import { type GraphFake, startGraphFake } from '../../../../local/graph-fake.ts';

const SECRET = 'meta-app-secret-0001';
const IG_LOGIN = {
  id: '17841400000000001',
  channel: 'instagram',
  accessToken: 'IGAAlogintoken0001',
  instagramLogin: true,
} as const;
const IG_PAGE = {
  id: '17841400000000002',
  channel: 'instagram',
  accessToken: 'EAApagelinkedig0001',
} as const;
const WA = { id: '106540352242922', channel: 'whatsapp', accessToken: 'EAAwhatsapp00000001' } as const;
const BSUID = 'US.13491208655302741918';

let facebook: GraphFake;
let instagram: GraphFake;
beforeAll(async () => {
  facebook = await startGraphFake({
    appSecret: SECRET,
    accessToken: 'unused-default-token',
    accounts: [IG_PAGE, WA],
  });
  instagram = await startGraphFake({
    appSecret: 'not-the-instagram-app-secret',
    accessToken: 'unused-default-2',
    accounts: [IG_LOGIN],
  });
  facebook.noteInbound('wamid.IN', BSUID);
});
afterAll(async () => {
  await facebook?.stop();
  await instagram?.stop();
});

const client = () =>
  graphClient({
    baseUrl: facebook.url,
    version: 'v26.0',
    accountTokens: {
      [IG_LOGIN.id]: IG_LOGIN.accessToken,
      [IG_PAGE.id]: IG_PAGE.accessToken,
      [WA.id]: WA.accessToken,
    },
    instagramLogin: { baseUrl: instagram.url, accounts: new Set([IG_LOGIN.id]) },
    appSecret: SECRET,
    timeoutMs: 2_000,
  });

describe('Instagram Login accounts alongside Page-linked ones', () => {
  it('answers an Instagram-Login account on its own origin with its own token, typing then message', async () => {
    const graph = client();
    const target = { channel: 'instagram' as const, pageId: IG_LOGIN.id, psid: '1254477777772919' };
    for (const action of [
      { sender_action: 'mark_seen' as const },
      { sender_action: 'typing_on' as const },
      { message: { text: 'Hi from Instagram Login' } },
    ]) {
      expect(await graph.sendAction({ ...target, action })).toMatchObject({ ok: true });
    }
    expect(instagram.calls.map((c) => [c.channel, c.psid, c.kind])).toEqual([
      ['instagram', '1254477777772919', 'mark_seen'],
      ['instagram', '1254477777772919', 'typing_on'],
      ['instagram', '1254477777772919', 'message'],
    ]);
    expect(facebook.calls.filter((c) => c.psid === '1254477777772919')).toEqual([]);
    await graph.close();
  });

  it('keeps Page-linked Instagram on graph.facebook.com with the Page token and appsecret_proof', async () => {
    const graph = client();
    const result = await graph.sendAction({
      channel: 'instagram',
      pageId: IG_PAGE.id,
      psid: '42',
      action: { message: { text: 'hi' } },
    });
    expect(result).toMatchObject({ ok: true });
    expect(facebook.calls.at(-1)).toMatchObject({ channel: 'instagram', psid: '42', kind: 'message' });
    await graph.close();
  });

  it('the Instagram origin refuses a Meta-app-secret proof: a client without the split fails there', async () => {
    const withProof = graphClient({
      baseUrl: instagram.url,
      version: 'v26.0',
      accountTokens: { [IG_LOGIN.id]: IG_LOGIN.accessToken },
      appSecret: SECRET,
      timeoutMs: 2_000,
    });
    const result = await withProof.sendAction({
      channel: 'instagram',
      pageId: IG_LOGIN.id,
      psid: '1',
      action: { sender_action: 'typing_on' },
    });
    expect(result).toMatchObject({ ok: false, status: 400 });
    await withProof.close();
  });

  it('replies to a WhatsApp user known only by a BSUID: `recipient`, accepted as Meta accepts it', async () => {
    const graph = client();
    const target = { channel: 'whatsapp' as const, pageId: WA.id, psid: BSUID, inboundMid: 'wamid.IN' };
    expect(await graph.sendAction({ ...target, action: { sender_action: 'typing_on' } })).toMatchObject({
      ok: true,
    });
    expect(await graph.sendAction({ ...target, action: { message: { text: 'Hello!' } } })).toMatchObject({
      ok: true,
    });
    expect(facebook.calls.slice(-2).map((c) => [c.psid, c.kind])).toEqual([
      [BSUID, 'typing_on'],
      [BSUID, 'message'],
    ]);
    await graph.close();
  });
});

describe('Instagram Login configuration', () => {
  const base = { META_ACCOUNT_IDS: `${IG_LOGIN.id},${WA.id}`, META_ACCOUNT_TOKENS: '{}' };
  it('reads the accounts and the origin (graph.instagram.com by default)', () => {
    expect(instagramLoginOf({ ...base, META_INSTAGRAM_LOGIN_ACCOUNT_IDS: IG_LOGIN.id })).toEqual({
      baseUrl: 'https://graph.instagram.com',
      accounts: new Set([IG_LOGIN.id]),
    });
    expect(instagramLoginOf(base)).toBeUndefined();
  });

  it.each([
    [{ META_INSTAGRAM_LOGIN_ACCOUNT_IDS: IG_LOGIN.id }, /needs per-account tokens/],
    [{ ...base, META_INSTAGRAM_LOGIN_ACCOUNT_IDS: '999' }, /must also be in META_ACCOUNT_IDS/],
    [
      { ...base, META_INSTAGRAM_LOGIN_ACCOUNT_IDS: IG_LOGIN.id, INSTAGRAM_API_URL: 'not a url' },
      /INSTAGRAM_API_URL/,
    ],
  ])('refuses a bad setting, naming the variable (%#)', (env, message) => {
    expect(() => instagramLoginOf(env)).toThrow(message);
  });
});
