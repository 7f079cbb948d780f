/**
 * Issue 23: `npm start`'s default accounts (local/defaults.ts) answer every channel. The stack runs as
 * `npm start` builds it — one Messenger Page, one Instagram account and one WhatsApp number, each with its
 * own token — and the Graph fake refuses any call in the wrong channel's shape or with another account's
 * token (local/graph-fake-channels.ts), so a 200 on every call is part of the proof.
 *
 * The WhatsApp user is known only by a business-scoped user id: Meta's BSUID-only webhook
 * (test/fixtures/whatsapp/webhooks/text-bsuid-only.reconstructed.json, whose phone_number_id is the default
 * number) is answered with read + typing on its wamid, then a reply addressed with `recipient`, and the
 * same user's later message comes after it, in order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LOCAL_ACCOUNTS, LOCAL_WHATSAPP_RECEIVED } from '../../../local/defaults.ts';
import type { GraphCall } from '../../../local/graph-fake.ts';
import { postSignedWebhook, whatsappWebhookBody } from '../../../local/meta.ts';
import { type Stack, startStack } from '../../../local/stack.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';
import { until, untilIdle } from '../../support/wait.ts';

const [MESSENGER, INSTAGRAM, WHATSAPP] = LOCAL_ACCOUNTS;
const FIXTURE = join(
  import.meta.dirname,
  '..',
  '..',
  'fixtures',
  'whatsapp',
  'webhooks',
  'text-bsuid-only.reconstructed.json',
);
const BSUID = 'US.13491208655302741918'; // the fixture's from_user_id
const FIRST_WAMID = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA='; // the fixture's message id
const LATER_WAMID = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUxBVEVSTUVTU0FHRQA=';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { PLAN_TIME_SCALE: '0.05', RESPONDER_QUIET_MS: '0' },
    accounts: LOCAL_ACCOUNTS,
    whatsappReceived: LOCAL_WHATSAPP_RECEIVED,
    webhookOverrides: { telemetry: memoryTelemetry() },
    senderOverrides: { telemetry: memoryTelemetry() },
    responderOverrides: { telemetry: memoryTelemetry() },
  });
});
afterAll(() => stack?.stop());

const callsOf = (psid: string): GraphCall[] => stack.graph?.calls.filter((c) => c.psid === psid) ?? [];
const messagesOf = (psid: string) => callsOf(psid).filter((c) => c.kind === 'message');
const readOf = (call: GraphCall): unknown => (call.body as { message_id?: unknown }).message_id;
const localSay = (body: unknown) =>
  fetch(`${stack.url}/local/say`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-ellipsis-token': stack.localToken },
    body: JSON.stringify(body),
  });
const post = (body: string) => postSignedWebhook(stack.webhookUrl, body, stack.appSecret);

describe('npm start serves three channels by default', () => {
  test('the stack names its three accounts, one per channel', () => {
    expect(stack.accounts.map((a) => a.channel)).toEqual(['messenger', 'instagram', 'whatsapp']);
  });

  test('a WhatsApp user known only by a BSUID: read + typing, the reply to `recipient`, the later message after it', async () => {
    expect((await post(readFileSync(FIXTURE, 'utf8'))).status).toBe(200);
    await until(() => messagesOf(BSUID).length >= 1, 60_000, 'the reply to the first message');
    const later = whatsappWebhookBody(WHATSAPP.id, [
      { from: BSUID, wamid: LATER_WAMID, text: 'and in blue?', at: Date.now() },
    ]);
    expect((await post(JSON.stringify(later))).status).toBe(200);
    await until(
      () => callsOf(BSUID).some((c) => c.kind === 'message' && c.at > laterReadAt()),
      60_000,
      'the reply to the later message',
    );
    await untilIdle(stack.idle);
    const calls = callsOf(BSUID);
    expect(calls.every((c) => c.status === 200 && c.channel === 'whatsapp' && c.pageId === WHATSAPP.id)).toBe(
      true,
    );
    // WhatsApp has no seen-only and no typing_off call: every call is a read + typing or a message.
    expect(new Set(calls.map((c) => c.kind))).toEqual(new Set(['typing_on', 'message']));
    const reads = calls.filter((c) => c.kind === 'typing_on');
    expect(reads[0]?.body).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: FIRST_WAMID,
      typing_indicator: { type: 'text' },
    });
    // In order: every call for the first message before the first one for the later message.
    const firstLater = calls.findIndex((c) => readOf(c) === LATER_WAMID);
    expect(firstLater).toBeGreaterThan(0);
    expect(calls.slice(firstLater).some((c) => readOf(c) === FIRST_WAMID)).toBe(false);
    expect(calls.slice(0, firstLater).some((c) => c.kind === 'message')).toBe(true);
    expect(calls.at(-1)?.kind).toBe('message');
    for (const m of calls.filter((c) => c.kind === 'message')) {
      expect(m.body).toMatchObject({ messaging_product: 'whatsapp', recipient: BSUID });
      expect(m.body).not.toHaveProperty('to');
    }
  });

  test('a WhatsApp user with a phone number is answered with `to`', async () => {
    const phone = '16505550123';
    expect((await stack.say(phone, { text: 'hi' }, undefined, WHATSAPP.id)).status).toBe(200);
    await until(() => messagesOf(phone).length >= 1, 60_000, 'the reply');
    expect(callsOf(phone).every((c) => c.status === 200 && c.channel === 'whatsapp')).toBe(true);
    expect(callsOf(phone)[0]).toMatchObject({ kind: 'typing_on', body: { status: 'read' } });
    expect(messagesOf(phone)[0]?.body).toMatchObject({ messaging_product: 'whatsapp', to: phone });
  });

  test('the Instagram account is answered through /me/messages with its own token', async () => {
    const igsid = '6543210987650777';
    expect((await stack.say(igsid, { text: 'hi' }, undefined, INSTAGRAM.id)).status).toBe(200);
    await until(() => messagesOf(igsid).length >= 1, 60_000, 'the reply');
    const calls = callsOf(igsid);
    expect(calls.every((c) => c.status === 200 && c.channel === 'instagram' && c.pageId === 'me')).toBe(true);
    expect(calls.map((c) => c.kind)).toEqual(expect.arrayContaining(['mark_seen', 'typing_on', 'message']));
  });

  test('the Messenger Page is what `say` writes to by default', async () => {
    const psid = '7700000000000777';
    expect((await stack.say(psid, { text: 'hi' })).status).toBe(200);
    await until(() => messagesOf(psid).length >= 1, 60_000, 'the reply');
    expect(callsOf(psid).every((c) => c.status === 200 && c.pageId === MESSENGER.id)).toBe(true);
  });

  test.each([
    ['whatsapp', WHATSAPP.id],
    ['instagram', INSTAGRAM.id],
  ])(
    'the chat view writes on its selected channel: /local/say with channel %s reaches that account',
    async (channel, id) => {
      const psid = `web-${channel}`;
      const res = await localSay({ psid, text: 'hello', channel });
      expect(await res.json()).toEqual({ webhookStatus: 200, webhookAnswer: 'EVENT_RECEIVED' });
      await until(() => messagesOf(psid).length >= 1, 60_000, 'the reply');
      expect(callsOf(psid).every((c) => c.status === 200 && c.channel === channel)).toBe(true);
      expect(callsOf(psid)[0]?.pageId).toBe(channel === 'whatsapp' ? id : 'me');
    },
  );

  test('/local/say refuses a channel that is not one, naming the field', async () => {
    const res = await localSay({ psid: 'web-x', text: 'hello', channel: 'sms' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/^channel: /);
  });

  test('no Graph call of any test was refused (a refused read names no user, so only this sees it)', async () => {
    await untilIdle(stack.idle);
    expect(stack.graph?.calls.filter((c) => c.status !== 200)).toEqual([]);
  });

  test('an account the stack does not serve is refused before anything is posted', async () => {
    await expect(stack.say('1', { text: 'hi' }, undefined, '999')).rejects.toThrow(/serves no account 999/);
  });
});

/** When the later message's first read + typing reached Graph (Infinity until it has). */
const laterReadAt = (): number =>
  callsOf(BSUID).find((c) => readOf(c) === LATER_WAMID)?.at ?? Number.POSITIVE_INFINITY;
