/**
 * RESPONDER_MID_REPLY on the local stack: a second message arrives while a 3-bubble reply is being typed.
 * `restart`: the unsent bubbles never arrive and one answer covers both messages. `finish` (default): all
 * three bubbles arrive in order, then the second message is answered on its own. Every bubble types for
 * 5 s (no jitter), so the second message lands well inside the reply: after bubble 1, ~5.7 s before bubble 2.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Responder } from '../../lib/bots/responder.ts';
import type { Reply } from '../../lib/queue/reply.ts';
import { type Stack, startStack } from '../../local/stack.ts';
import { memoryTelemetry, metricTotal } from '../support/telemetry.ts';

const say = (text: string): Reply => ({ message: { text } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FIRST = 'tell me everything about my order';
const SECOND = 'actually, just the price';
const PARTS = ['Part one: it shipped.', 'Part two: it is in Lyon.', 'Part three: it arrives Friday.'];

const onPolicy = (policy: 'finish' | 'restart') => {
  let stack: Stack;
  const turns: string[][] = [];
  const telemetry = memoryTelemetry();
  const responder: Responder = (_event, turn) => {
    const texts = turn.events.map((e) => e.text ?? '');
    turns.push(texts);
    return texts.length === 1 && texts[0] === FIRST
      ? PARTS.map(say)
      : [say(`One answer to: ${texts.join(' + ')}`)];
  };

  beforeAll(async () => {
    stack = await startStack({
      env: {
        ...(policy === 'restart' ? { RESPONDER_MID_REPLY: 'restart' } : {}),
        RESPONDER_QUIET_MS: '500',
        PLAN_TYPING_MIN_MS: '5000',
        PLAN_TYPING_MAX_MS: '5000',
        PLAN_JITTER: '0',
      },
      sqsFromProcessEnv: true,
      webhookOverrides: { telemetry: memoryTelemetry() },
      senderOverrides: { telemetry: memoryTelemetry() },
      responderOverrides: { telemetry, responder },
    });
    for (const [k, v] of Object.entries(stack.sqs.env)) vi.stubEnv(k, v);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    vi.unstubAllEnvs();
  });

  const texts = (psid: string) =>
    (stack.graph?.callsFor(psid) ?? []).flatMap((c) =>
      c.action && 'message' in c.action && c.action.message.text !== undefined ? [c.action.message.text] : [],
    );
  const until = async (condition: () => boolean, limitMs = 45_000) => {
    const end = Date.now() + limitMs;
    while (!condition()) {
      if (Date.now() > end) throw new Error('condition not reached in time');
      await sleep(20);
    }
  };
  /** The first message, then the second as soon as bubble 1 is on screen. */
  const interrupt = async (psid: string) => {
    await stack.say(psid, { text: FIRST });
    await until(() => texts(psid).length === 1);
    await stack.say(psid, { text: SECOND });
  };
  return { texts, until, interrupt, turns, telemetry };
};

describe('RESPONDER_MID_REPLY=restart', () => {
  const t = onPolicy('restart');
  test('the unsent bubbles never arrive; one answer covers both messages, each handed over once', async () => {
    await t.interrupt('restart-1');
    const answer = `One answer to: ${FIRST} + ${SECOND}`;
    await t.until(() => t.texts('restart-1').includes(answer));
    // Past the moment the third bubble was due, had the reply gone on (5 s + 0.7 s + 5 s after bubble 1).
    await sleep(7_000);
    expect(t.texts('restart-1')).toEqual([PARTS[0], answer]);
    expect(t.turns).toEqual([[FIRST], [FIRST, SECOND]]);
    expect(metricTotal(t.telemetry.metrics, 'RepliesRestarted')).toBe(1);
  }, 90_000);
});

describe('RESPONDER_MID_REPLY=finish (default)', () => {
  const t = onPolicy('finish');
  test('the whole reply arrives in order, then the second message gets its own answer', async () => {
    await t.interrupt('finish-1');
    const answer = `One answer to: ${SECOND}`;
    await t.until(() => t.texts('finish-1').includes(answer));
    await sleep(1_000);
    expect(t.texts('finish-1')).toEqual([...PARTS, answer]);
    expect(t.turns).toEqual([[FIRST], [SECOND]]);
    expect(metricTotal(t.telemetry.metrics, 'RepliesRestarted')).toBe(0);
  }, 90_000);
});
