/**
 * RESPONDER=llm on the local stack, as `RESPONDER=llm npm start` runs it: a signed webhook POST → webhook →
 * responder function → the LLM responder streaming from the local OpenAI fake → paced bubbles at the Graph
 * fake, with typing on before each one, and the conversation remembered for the next turn.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { type LocalLlm, startLocalLlm } from '../../../local/llm.ts';
import { type Stack, startStack } from '../../../local/stack.ts';
import { memoryTelemetry, metricTotal } from '../../support/telemetry.ts';
import { until } from '../../support/wait.ts';

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

describe('RESPONDER=llm with a key the endpoint refuses', () => {
  const wrongKey = 'sk-wrong-7d1e9a3c5b2f8e4d6a0c1b9f';
  const telemetry = memoryTelemetry();
  let refused: Stack;

  beforeAll(async () => {
    refused = await startStack({
      env: {
        PLAN_TIME_SCALE: '0.05',
        RESPONDER_QUIET_MS: '0',
        RESPONDER: 'llm',
        ...llm.env,
        LLM_API_KEY: wrongKey,
      },
      sqsFromProcessEnv: true,
      webhookOverrides: { telemetry: memoryTelemetry() },
      senderOverrides: { telemetry: memoryTelemetry() },
      responderOverrides: { telemetry },
    });
  });
  afterAll(() => refused?.stop());

  test('stops typing and logs a failure naming LLM_API_KEY, never the key (the 401 body echoes it)', async () => {
    const psid = 'llm-refused-user';
    await refused.say(psid, { text: 'hello' });
    await until(() => telemetry.logs.some((l) => l.message === 'responder failed'));
    await until(() => (refused.graph?.callsFor(psid) ?? []).some((c) => c.kind === 'typing_off'));
    expect(llm.fake?.calls.some((c) => c.status === 401 && JSON.stringify(c).includes(wrongKey))).toBe(true);
    const failure = telemetry.logs.find((l) => l.message === 'responder failed')?.attributes.error;
    expect(failure).toBeInstanceOf(Error);
    // What Powertools would write: the error's name and message (lib/platform/redaction.ts redactValue).
    const logged = `${JSON.stringify(telemetry.logs)} ${(failure as Error).message}`;
    expect((failure as Error).message).toContain('check LLM_API_KEY');
    for (let i = 0; i + 12 <= wrongKey.length; i++) expect(logged).not.toContain(wrongKey.slice(i, i + 12));
    expect((refused.graph?.callsFor(psid) ?? []).filter((c) => c.kind === 'message')).toEqual([]);
  });

  test('dead-letters the turn at once: a 401 is asked once, not retried until the tenth receive', async () => {
    await until(() => metricTotal(telemetry.metrics, 'TurnsNotRetried') === 1);
    // Longer than the first backoff (RESPONDER_RETRY_BASE_SECONDS 2 s): a retry would have asked again.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(llm.fake?.calls.filter((c) => c.status === 401)).toHaveLength(1);
    expect(metricTotal(telemetry.metrics, 'TurnsDeadLettered')).toBe(1);
  });
});
