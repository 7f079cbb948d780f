/**
 * The chat view's "reply as the Page" (local/chat-view.ts /local/echo → local/page-echo.ts): a person's reply
 * goes to the real webhook as the signed echo Meta delivers, so the bot steps aside — the reply it was
 * thinking about is withheld, nothing reaches that user while paused, and the transcript and the event
 * stream say a person took over and when the bot resumes.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Responder } from '../../../lib/bots/responder.ts';
import { type ChatEvent, type Stack, startStack } from '../../../local/stack.ts';
import { takeoverLine } from '../../../local/transcript.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';
import { until, untilIdle } from '../../support/wait.ts';

const PAUSE_SECONDS = 120;
let stack: Stack;
const printed: string[] = [];
const events: ChatEvent[] = [];
const thinking = new Map<string, () => void>();

const responder: Responder = async (event, turn) => {
  const text = event.text ?? '';
  if (text.startsWith('slow')) {
    await new Promise<void>((resolve, reject) => {
      thinking.set(text, resolve);
      turn.signal.addEventListener('abort', () => reject(turn.signal.reason), { once: true });
    });
  }
  return [{ message: { text: `Answer to: ${text}` } }];
};

beforeAll(async () => {
  stack = await startStack({
    env: {
      META_APP_ID: '730000000000001',
      HUMAN_TAKEOVER_PAUSE_SECONDS: String(PAUSE_SECONDS),
      PLAN_TIME_SCALE: '0.1',
      RESPONDER_QUIET_MS: '0',
    },
    stateTable: 'memory',
    sqsFromProcessEnv: true,
    print: (line) => printed.push(line),
    webhookOverrides: { telemetry: memoryTelemetry() },
    senderOverrides: { telemetry: memoryTelemetry() },
    responderOverrides: { telemetry: memoryTelemetry(), responder },
  });
  for (const [k, v] of Object.entries(stack.sqs.env)) vi.stubEnv(k, v);
  stack.subscribe((e) => events.push(e));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  vi.unstubAllEnvs();
});

const post = (path: string, body: unknown) =>
  fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-ellipsis-token': stack.localToken },
    body: JSON.stringify(body),
  });

const messagesTo = (psid: string, since = 0) =>
  (stack.graph?.callsFor(psid) ?? []).filter((c) => c.at >= since && c.kind !== 'typing_off');

describe('reply as the Page (/local/echo)', () => {
  test.each([
    [{ psid: 'bad id!', text: 'hi' }, /psid/],
    [{ psid: 'ok', text: '  ' }, /text/],
  ])('refuses the body %j with a reason', async (body, reason) => {
    const res = await post('/local/echo', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(reason);
  });

  test('is refused without the token, like every /local/* route', async () => {
    const res = await fetch(`${stack.url}/local/echo`, {
      method: 'POST',
      body: JSON.stringify({ psid: 'u', text: 'hi' }),
    });
    expect(res.status).toBe(403);
  });

  test('the echo withholds the pending reply; nothing reaches the user while paused; the transcript says until when', async () => {
    const psid = 'page-echo-1';
    expect((await post('/local/say', { psid, text: 'slow: where is my parcel?' })).status).toBe(200);
    // The prelude's bubble is up and the responder thinks: the person answers now.
    const typingShown = () => messagesTo(psid).some((c) => c.kind === 'typing_on');
    await until(() => thinking.has('slow: where is my parcel?') && typingShown(), 30_000, 'thinking');
    const before = Date.now();
    const res = await post('/local/echo', { psid, text: 'Anna here, checking your parcel now.' });
    expect(await res.json()).toEqual({ webhookStatus: 200, webhookAnswer: 'EVENT_RECEIVED' });
    const heldAt = Date.now();
    thinking.get('slow: where is my parcel?')?.();
    expect((await post('/local/say', { psid, text: 'thank you!' })).status).toBe(200);
    await untilIdle(stack.idle, 30_000);

    expect(messagesTo(psid, heldAt).map((c) => [c.kind, c.at - heldAt])).toEqual([]);
    expect(messagesTo(psid).filter((c) => c.kind === 'message')).toEqual([]);
    const takeover = events.find((e) => e.type === 'takeover' && e.psid === psid);
    expect(takeover).toMatchObject({ kind: 'person', text: 'Anna here, checking your parcel now.' });
    const resumesAt = takeover?.type === 'takeover' ? (takeover.resumesAt ?? 0) : 0;
    expect(resumesAt).toBeGreaterThanOrEqual(before + PAUSE_SECONDS * 1000);
    expect(resumesAt).toBeLessThanOrEqual(heldAt + PAUSE_SECONDS * 1000);
    const line = printed.find((l) => l.includes('a person took over'));
    expect(line).toContain(`[${psid}]`);
    expect(line).toContain(`the bot resumes at ${new Date(resumesAt).toTimeString().slice(0, 8)}`);
  }, 60_000);
});

describe('takeoverLine', () => {
  test('says who holds the conversation and when the bot speaks again', () => {
    const at = new Date(2026, 11, 7, 14, 5, 9).getTime();
    expect(takeoverLine({ kind: 'person', text: 'hi\u001b[2J', resumesAt: at })).toBe(
      '🙋 a person took over (“hi␛[2J”); the bot resumes at 14:05:09',
    );
    expect(takeoverLine({ kind: 'routing_lost' })).toMatch(/another app took the thread/);
    expect(takeoverLine({ kind: 'routing_returned' })).toMatch(/thread is back/);
  });
});
