/**
 * Issue #14 on the local stack: a signed Instagram webhook and a signed WhatsApp webhook each produce their
 * channel's Graph calls, paced by the same plan; two Pages with their own tokens are each answered with
 * their own; an account the deployment does not serve is acknowledged and never answered. The Graph fake
 * knows each account's token and channel and rejects any call in the wrong shape or with the wrong token
 * (local/graph-fake-channels.ts), so a 200 on every call is the proof.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeStep, type QueuedStep } from '../../lib/queue/codec.ts';
import { actionKind } from '../../lib/queue/step.ts';
import { postSignedWebhook, whatsappWebhookBody } from '../../local/meta.ts';
import { type Stack, startStack } from '../../local/stack.ts';
import { memoryTelemetry } from '../support/telemetry.ts';
import { until, untilIdle } from '../support/wait.ts';

const TIME_SCALE = 0.05;
/** Sending before the planned time is a bug; later is polling and a loaded machine. */
const EARLY_TOLERANCE_MS = 25;

const ACCOUNTS = [
  { id: '100000000000011', channel: 'messenger', accessToken: 'local-token-page-a' },
  { id: '100000000000022', channel: 'messenger', accessToken: 'local-token-page-b' },
  { id: '17841400000000033', channel: 'instagram', accessToken: 'local-token-instagram' },
  { id: '106540352242944', channel: 'whatsapp', accessToken: 'local-token-whatsapp' },
] as const;
const [PAGE_A, PAGE_B, INSTAGRAM, WHATSAPP] = ACCOUNTS;

let stack: Stack;
const planned = new Map<string, QueuedStep>();

beforeAll(async () => {
  stack = await startStack({
    env: { PLAN_TIME_SCALE: String(TIME_SCALE), RESPONDER_QUIET_MS: '0' },
    accounts: ACCOUNTS,
    webhookOverrides: { telemetry: memoryTelemetry() },
    senderOverrides: { telemetry: memoryTelemetry() },
    responderOverrides: { telemetry: memoryTelemetry() },
    onBatch: (report) => {
      for (const r of report.records) {
        const d = decodeStep(r.body);
        if (d.ok) planned.set(`${d.step.sequenceId}:${d.step.index}`, d.step);
      }
    },
  });
});
afterAll(() => stack?.stop());

const post = (body: unknown) => postSignedWebhook(stack.webhookUrl, JSON.stringify(body), stack.appSecret);
const messengerBody = (page: string, psid: string, mid: string) => ({
  object: 'page',
  entry: [
    {
      id: page,
      time: Date.now(),
      messaging: [
        {
          sender: { id: psid },
          recipient: { id: page },
          timestamp: Date.now(),
          message: { mid, text: 'hi' },
        },
      ],
    },
  ],
});
const instagramBody = (psid: string, mid: string) => ({
  ...messengerBody(INSTAGRAM.id, psid, mid),
  object: 'instagram',
});
const whatsappBody = (waId: string, wamid: string) =>
  whatsappWebhookBody(WHATSAPP.id, [{ from: waId, wamid, text: 'hi', at: Date.now() }]);

const callsOf = (psid: string) => stack.graph?.calls.filter((c) => c.psid === psid) ?? [];
const planOf = (psid: string) =>
  [...planned.values()].filter((s) => s.psid === psid).sort((a, b) => a.dueAt - b.dueAt || a.index - b.index);
/** The reply reached Graph, and the sender has reported the batch holding it (onBatch runs after it). */
const answered = (psid: string) =>
  callsOf(psid).some((c) => c.kind === 'message') &&
  planOf(psid).some((s) => actionKind(s.action) === 'message');

describe('channels on the local stack', () => {
  test('an Instagram DM gets seen, typing and the reply through /me/messages, every step of the plan', async () => {
    expect((await post(instagramBody('6543210987650001', 'aWdfIG1'))).status).toBe(200);
    await until(() => answered('6543210987650001'));
    const calls = callsOf('6543210987650001');
    expect(calls.every((c) => c.status === 200 && c.channel === 'instagram' && c.pageId === 'me')).toBe(true);
    const plan = planOf('6543210987650001');
    expect(plan.every((s) => s.channel === 'instagram')).toBe(true);
    expect(calls.map((c) => c.kind)).toEqual(plan.map((s) => actionKind(s.action)));
    expect(calls.map((c) => c.kind)).toEqual(expect.arrayContaining(['mark_seen', 'typing_on', 'message']));
    for (const [i, s] of plan.entries())
      expect(calls[i]?.at).toBeGreaterThanOrEqual(s.dueAt - EARLY_TOLERANCE_MS);
  });

  test('a WhatsApp message gets ONE read+typing call at the typing step and the reply; no seen or typing_off call', async () => {
    const waId = '16505550001';
    const wamid = 'wamid.HBgLMTY1MDU1NTAwMDEVAgASGBQzQUxPQ0FMAA==';
    stack.graph?.noteInbound(wamid, waId);
    expect((await post(whatsappBody(waId, wamid))).status).toBe(200);
    await until(() => answered(waId));
    const calls = callsOf(waId);
    expect(calls.every((c) => c.status === 200 && c.channel === 'whatsapp' && c.pageId === WHATSAPP.id)).toBe(
      true,
    );
    const plan = planOf(waId);
    // The same plan as every channel (mark_seen, reading pause, typing, message); WhatsApp makes the
    // typing steps read+typing calls and has no call for mark_seen.
    expect(plan.map((s) => actionKind(s.action))).toContain('mark_seen');
    const called = plan.filter((s) => !['mark_seen', 'typing_off'].includes(actionKind(s.action)));
    expect(calls.map((c) => c.kind)).toEqual(called.map((s) => actionKind(s.action)));
    expect(calls[0]?.body).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: wamid,
      typing_indicator: { type: 'text' },
    });
    expect(calls.at(-1)?.body).toMatchObject({ messaging_product: 'whatsapp', to: waId });
    for (const [i, s] of called.entries())
      expect(calls[i]?.at).toBeGreaterThanOrEqual(s.dueAt - EARLY_TOLERANCE_MS);
  });

  test('two Pages are each answered with their own token; an unserved Page is acknowledged, never answered', async () => {
    expect((await post(messengerBody(PAGE_A.id, '7700000000000001', 'm_page_a'))).status).toBe(200);
    expect((await post(messengerBody(PAGE_B.id, '7700000000000002', 'm_page_b'))).status).toBe(200);
    expect((await post(messengerBody('100000000000099', '7700000000000003', 'm_page_x'))).status).toBe(200);
    await until(() => answered('7700000000000001') && answered('7700000000000002'));
    // The fake answers 400 when a token acts for another Page: all 200 means each used its own.
    expect(callsOf('7700000000000001').every((c) => c.status === 200 && c.pageId === PAGE_A.id)).toBe(true);
    expect(callsOf('7700000000000002').every((c) => c.status === 200 && c.pageId === PAGE_B.id)).toBe(true);
    await untilIdle(stack.idle); // had it been enqueued, it would have reached Graph by now
    expect(callsOf('7700000000000003')).toEqual([]);
  });
});
