/**
 * Quoted replies on the local stack (docs/takeover.md), RESPONDER_MID_REPLY=finish: a second message that
 * arrives while the first answer is being typed makes that answer quote the message it answers (Messenger
 * `reply_to: {mid}`); an answer to the user's latest message quotes nothing. Every bubble types for 3 s (no
 * jitter), so the second message lands well inside the first answer's typing.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Responder } from '../../lib/bots/responder.ts';
import type { GraphCall } from '../../local/graph-fake.ts';
import { type Stack, startStack } from '../../local/stack.ts';
import { memoryTelemetry } from '../support/telemetry.ts';
import { until, untilIdle } from '../support/wait.ts';

let stack: Stack;
const asked: string[] = [];
const responder: Responder = (event) => {
  asked.push(event.text ?? '');
  return [{ message: { text: `Answer to: ${event.text ?? ''}` } }];
};

beforeAll(async () => {
  stack = await startStack({
    env: {
      RESPONDER_QUIET_MS: '200',
      PLAN_TYPING_MIN_MS: '3000',
      PLAN_TYPING_MAX_MS: '3000',
      PLAN_JITTER: '0',
    },
    sqsFromProcessEnv: true,
    webhookOverrides: { telemetry: memoryTelemetry() },
    senderOverrides: { telemetry: memoryTelemetry() },
    responderOverrides: { telemetry: memoryTelemetry(), responder },
  });
  for (const [k, v] of Object.entries(stack.sqs.env)) vi.stubEnv(k, v);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  vi.unstubAllEnvs();
});

/** The user's answers as Graph received them: text and the quoted mid, if any. */
const answers = (psid: string) =>
  (stack.graph?.callsFor(psid) ?? []).flatMap((c: GraphCall) => {
    const body = c.body as { message?: { text?: string }; reply_to?: { mid?: string } };
    return body.message?.text === undefined ? [] : [{ text: body.message.text, quotes: body.reply_to?.mid }];
  });

describe('quoted replies on the local stack', () => {
  test('a message written while the first answer is typed: that answer quotes the first message; the second answer quotes nothing', async () => {
    const psid = 'quote-1';
    expect((await stack.say(psid, { text: 'when does it ship?' }, 'm_first')).status).toBe(200);
    // The responder has answered; its bubble is being typed (3 s) when the user writes again.
    await until(() => asked.includes('when does it ship?'), 30_000, 'the first answer enqueued');
    expect(answers(psid)).toEqual([]);
    expect((await stack.say(psid, { text: 'and to Lyon?' }, 'm_second')).status).toBe(200);
    await until(() => answers(psid).length === 2, 45_000, 'both answers');
    await untilIdle(stack.idle, 30_000);
    expect(answers(psid)).toEqual([
      { text: 'Answer to: when does it ship?', quotes: 'm_first' },
      { text: 'Answer to: and to Lyon?', quotes: undefined },
    ]);
  }, 90_000);

  test('a lone message is answered without a quote', async () => {
    const psid = 'quote-2';
    expect((await stack.say(psid, { text: 'hello' }, 'm_lone')).status).toBe(200);
    await until(() => answers(psid).length === 1, 30_000, 'the answer');
    expect(answers(psid)).toEqual([{ text: 'Answer to: hello', quotes: undefined }]);
  }, 60_000);
});
