/**
 * A person in the conversation, end to end on the `npm start` stack (docs/takeover.md): signed POSTs to the
 * real webhook, fauxqs queues, the real responder and sender, the state table on dynalite, and the local
 * Graph fake recording every call. A person's echo while the bot thinks withholds the pending reply; nothing
 * reaches that user while paused; after the pause the bot answers a new message, the disclosure first; the
 * bot's own echoes (app_id = META_APP_ID) pause nothing; a new user's first bot message is the disclosure.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Responder } from '../../lib/bots/responder.ts';
import type { GraphCall } from '../../local/graph-fake.ts';
import { type Stack, startStack } from '../../local/stack.ts';
import { memoryTelemetry, metricTotal } from '../support/telemetry.ts';
import { until, untilIdle } from '../support/wait.ts';

const APP_ID = '730000000000001';
const DISCLOSURE = 'You are chatting with an automated assistant.';
const PAUSE_SECONDS = 4;

let stack: Stack;
const webhookTelemetry = memoryTelemetry();
const senderTelemetry = memoryTelemetry();
const responderTelemetry = memoryTelemetry();
/** Messages the responder was asked to answer, by text; "slow …" ones think until released or aborted. */
const asked: string[] = [];
const thinking = new Map<string, () => void>();

const responder: Responder = async (event, turn) => {
  const text = event.text ?? '';
  asked.push(text);
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
      META_APP_ID: APP_ID,
      HUMAN_TAKEOVER_PAUSE_SECONDS: String(PAUSE_SECONDS),
      BOT_DISCLOSURE_TEXT: DISCLOSURE,
      PLAN_TIME_SCALE: '0.1',
      RESPONDER_QUIET_MS: '0',
    },
    sqsFromProcessEnv: true,
    webhookOverrides: { telemetry: webhookTelemetry },
    senderOverrides: { telemetry: senderTelemetry },
    responderOverrides: { telemetry: responderTelemetry, responder },
  });
  for (const [k, v] of Object.entries(stack.sqs.env)) vi.stubEnv(k, v);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  vi.unstubAllEnvs();
});

const calls = (psid: string): GraphCall[] => stack.graph?.callsFor(psid) ?? [];
const textsOf = (list: readonly GraphCall[]): string[] =>
  list.flatMap((c) => (c.action && 'message' in c.action ? [c.action.message.text ?? '(attachment)'] : []));
const texts = (psid: string) => textsOf(calls(psid));
const answered = (psid: string, text: string) => () => texts(psid).includes(`Answer to: ${text}`);

const saidOk = async (answer: Promise<{ status: number; text: string }>) => {
  expect((await answer).status).toBe(200);
};

describe('a person in the conversation on the local stack', () => {
  test("a new user's first bot message is the disclosure; the next answer has none", async () => {
    await saidOk(stack.say('new-1', { text: 'hello' }));
    await until(answered('new-1', 'hello'), 30_000, 'the first answer');
    await saidOk(stack.say('new-1', { text: 'and again' }));
    await until(answered('new-1', 'and again'), 30_000, 'the second answer');
    expect(texts('new-1')).toEqual([DISCLOSURE, 'Answer to: hello', 'Answer to: and again']);
  }, 60_000);

  test("a person's echo while the bot thinks withholds the reply; nothing is sent while paused; after it, the disclosure then the answer", async () => {
    const psid = 'person-1';
    await saidOk(stack.say(psid, { text: 'hi' }));
    await until(answered(psid, 'hi'), 30_000, 'the first answer');
    await saidOk(stack.say(psid, { text: 'slow question' }));
    // The prelude's bubble is up and the responder thinks: the person answers now.
    const typingShown = () => calls(psid).filter((c) => c.kind === 'typing_on').length >= 2;
    await until(() => thinking.has('slow question') && typingShown(), 30_000, 'the responder thinking');
    const echoAt = Date.now();
    await saidOk(stack.echo(psid, 'Hi, Anna from the shop here. Let me check that for you.'));
    // The hold is written before the webhook's 200: a step read after it never goes out.
    const heldAt = Date.now();
    thinking.get('slow question')?.();
    // A message during the pause: seen by nobody but the person, never answered.
    await saidOk(stack.say(psid, { text: 'thanks Anna' }));
    await untilIdle(stack.idle, 30_000);
    const pausedUntil = echoAt + PAUSE_SECONDS * 1000;
    const duringPause = calls(psid).filter((c) => c.at >= heldAt);
    expect(Date.now()).toBeLessThan(pausedUntil);
    // Only a typing_off may go out (it clears a bubble the sequence showed, lib/sender/user-hold.ts).
    expect(duringPause.filter((c) => c.kind !== 'typing_off')).toEqual([]);
    expect(texts(psid)).toEqual([DISCLOSURE, 'Answer to: hi']);
    expect(asked).not.toContain('thanks Anna');
    expect(metricTotal(webhookTelemetry.metrics, 'Takeovers', { kind: 'person' })).toBe(1);

    await until(() => Date.now() > pausedUntil + 100, PAUSE_SECONDS * 1000 + 5_000, 'the pause over');
    await saidOk(stack.say(psid, { text: 'anyone?' }));
    await until(answered(psid, 'anyone?'), 30_000, 'the answer after the pause');
    expect(texts(psid)).toEqual([DISCLOSURE, 'Answer to: hi', DISCLOSURE, 'Answer to: anyone?']);
  }, 90_000);

  test("the bot's own echoes (app_id = META_APP_ID) pause nothing", async () => {
    const psid = 'own-1';
    await saidOk(stack.say(psid, { text: 'first' }));
    await until(answered(psid, 'first'), 30_000, 'the first answer');
    const before = metricTotal(webhookTelemetry.metrics, 'Takeovers');
    await saidOk(stack.echo(psid, 'Answer to: first', APP_ID));
    await saidOk(stack.say(psid, { text: 'second' }));
    await until(answered(psid, 'second'), 30_000, 'the second answer');
    expect(texts(psid)).toEqual([DISCLOSURE, 'Answer to: first', 'Answer to: second']);
    expect(metricTotal(webhookTelemetry.metrics, 'Takeovers')).toBe(before);
  }, 60_000);
});
