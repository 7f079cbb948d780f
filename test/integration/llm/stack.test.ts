/**
 * RESPONDER=llm on the local stack, as `RESPONDER=llm npm start` runs it: a signed webhook POST → webhook →
 * responder function → the LLM responder streaming from the local OpenAI fake → paced bubbles at the Graph
 * fake, with typing on before each one, and the conversation remembered for the next turn.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { type LocalLlm, startLocalLlm } from '../../../local/llm.ts';
import { type Stack, startStack } from '../../../local/stack.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

let llm: LocalLlm;
let stack: Stack;

beforeAll(async () => {
  llm = await startLocalLlm({ LLM_BASE_URL: 'fake' });
  stack = await startStack({
    env: { PLAN_TIME_SCALE: '0.05', RESPONDER_QUIET_MS: '0', RESPONDER: 'llm', ...llm.env },
    sqsFromProcessEnv: true,
    webhookOverrides: { telemetry: memoryTelemetry() },
    senderOverrides: { telemetry: memoryTelemetry() },
    responderOverrides: { telemetry: memoryTelemetry() },
  });
  for (const [k, v] of Object.entries(stack.sqs.env)) vi.stubEnv(k, v);
});

afterAll(async () => {
  await stack?.stop();
  await llm?.stop();
  vi.unstubAllEnvs();
});

const until = async (condition: () => boolean, limitMs = 20_000) => {
  const end = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

const callsOf = (psid: string) => stack.graph?.callsFor(psid) ?? [];
const textsOf = (psid: string): string[] =>
  callsOf(psid).flatMap((c) => (c.action && 'message' in c.action ? [c.action.message.text ?? ''] : []));

describe('RESPONDER=llm on the local stack', () => {
  test('streams the answer as paced bubbles, typing before each, and remembers the turn', async () => {
    const psid = 'llm-e2e-user';
    expect((await stack.say(psid, { text: 'hello' })).status).toBe(200);
    await until(() => textsOf(psid).length === 3);
    expect(textsOf(psid)).toEqual([
      'You wrote: “hello”.',
      'I am the local fake LLM, streaming this answer a few words at a time, paragraph by paragraph.',
      'I remember 0 earlier messages from you.',
    ]);
    const kinds = callsOf(psid).map((c) => c.kind);
    expect(kinds.slice(0, 2)).toEqual(['mark_seen', 'typing_on']);
    kinds.forEach((kind, i) => {
      if (kind === 'message') expect(kinds[i - 1]).toBe('typing_on');
    });
    expect(llm.fake?.calls.at(-1)?.request?.messages.at(-1)).toEqual({ role: 'user', content: 'hello' });

    await stack.say(psid, { text: 'thanks' });
    await until(() => textsOf(psid).length === 6);
    expect(textsOf(psid).at(-1)).toBe('I remember 1 earlier message from you.');
  });
});
