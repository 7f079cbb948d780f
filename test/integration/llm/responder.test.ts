/**
 * The LLM responder through the real `openai` client against the local OpenAI-compatible fake on
 * 127.0.0.1: streaming into bubbles, abort, memory across turns, TTL, error mapping, the key kept secret.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  LlmError,
  LlmRequestError,
  LlmUnavailableError,
  llmResponderFromEnv,
} from '../../../lib/bots/llm/index.ts';
import type { Responder, TurnContext } from '../../../lib/bots/responder.ts';
import { type Env, type FetchParameter, resolveSecrets } from '../../../lib/platform/config.ts';
import type { Startup } from '../../../lib/platform/runtime.ts';
import type { InboundEvent } from '../../../lib/queue/inbound.ts';
import type { Reply } from '../../../lib/queue/reply.ts';
import { echoAnswer, type OpenAiFake, startOpenAiFake } from '../../../local/openai-fake.ts';
import { fakeStateTable } from '../../support/state-table.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const KEY = 'sk-test-4f9a2c7e1b8d3f6a0c5e9b2d7f1a4c8e';
const T0 = 1_700_000_000_000;
let fake: OpenAiFake;

beforeAll(async () => {
  fake = await startOpenAiFake({
    apiKey: KEY,
    answer: (r) => ({ ...echoAnswer(r), headerDelayMs: 0, chunkDelayMs: 0 }),
  });
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.calls.length = 0;
});

const envWith = (over: Env = {}): Env => ({
  LLM_BASE_URL: fake.baseUrl,
  LLM_MODEL: 'test-model',
  LLM_API_KEY: KEY,
  LLM_TIMEOUT_MS: '1500',
  ...over,
});

const noSsm: FetchParameter = async (name) => {
  throw new Error(`no SSM in this test (${name})`);
};

/** The handler's Startup.secrets as lib/platform/runtime.ts builds it: resolve, and note what to redact. */
const secretsVia =
  (fetchParameter: FetchParameter = noSsm, resolved: string[] = []): Startup['secrets'] =>
  async (sources) => {
    const values = await resolveSecrets(sources, fetchParameter);
    resolved.push(...Object.values<string>(values));
    return values;
  };

let mids = 0;
const message = (text: string, psid = 'U1'): InboundEvent => {
  mids++;
  return {
    channel: 'messenger',
    kind: 'message',
    pageId: 'P1',
    psid,
    timestamp: T0 + mids,
    eventId: `m_${mids}`,
    mid: `m_${mids}`,
    text,
    attachments: [],
  };
};

const turnOf = (events: InboundEvent[], signal = new AbortController().signal): TurnContext => ({
  events,
  signal,
});

const textsOf = (replies: readonly Reply[]): string[] =>
  replies.map((r) => ('message' in r ? (r.message.text ?? '') : ''));

/** Runs one turn to its end, as the responder stage consumes it. */
const run = async (responder: Responder, events: InboundEvent[], signal?: AbortSignal): Promise<string[]> => {
  const last = events.at(-1);
  if (last === undefined) throw new Error('a turn has events');
  const output = await responder(last, turnOf(events, signal));
  const replies: Reply[] = [];
  if (Symbol.asyncIterator in output) for await (const r of output) replies.push(r);
  else replies.push(...output);
  return textsOf(replies);
};

const responderFor = (over: Env = {}, telemetry = memoryTelemetry()) =>
  llmResponderFromEnv(envWith(over), { log: telemetry.log, secrets: secretsVia(), now: () => T0 });

describe('LLM responder: streaming', () => {
  it('yields one bubble per paragraph while the stream is still running', async () => {
    const chunks = ['Hello', ' there.\n', '\nSecond', ' paragraph.\n\n', 'Third', ' one.'];
    fake.inject({ chunks, chunkDelayMs: 60 });
    const output = await responderFor()(message('hi'), turnOf([message('hi')]));
    if (!(Symbol.asyncIterator in output)) throw new Error('expected a stream');
    const seen: { text: string; chunksSent: number }[] = [];
    for await (const reply of output) {
      seen.push({ text: textsOf([reply])[0] ?? '', chunksSent: fake.calls[0]?.chunksSent ?? -1 });
    }
    expect(seen.map((s) => s.text)).toEqual(['Hello there.', 'Second paragraph.', 'Third one.']);
    // The first bubble exists after 3 of 6 chunks: it can be typed while the model writes the rest.
    expect(seen[0]?.chunksSent).toBe(3);
  });

  it('sends the system prompt, the model and the bearer key; the turn is one user message, oldest first', async () => {
    const burst = [message('hi'), message('quick question'), message('where is my order?')];
    await run(responderFor({ LLM_SYSTEM_PROMPT: 'Be terse.', LLM_MAX_TOKENS: '200' }), burst);
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]?.status).toBe(200);
    expect(fake.calls[0]?.authorization).toBe(`Bearer ${KEY}`);
    expect(fake.calls[0]?.request).toEqual({
      model: 'test-model',
      stream: true,
      max_tokens: 200,
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'hi\nquick question\nwhere is my order?' },
      ],
    });
  });

  it("never shows a reasoning model's <think> block, nor remembers it", async () => {
    const responder = responderFor();
    fake.inject({ chunks: ['<think>', 'The user greets me.', '</think>', '\n\nHello!'] });
    expect(await run(responder, [message('hi')])).toEqual(['Hello!']);
    await run(responder, [message('again')]);
    expect(fake.calls.at(-1)?.request?.messages[2]).toEqual({ role: 'assistant', content: 'Hello!' });
  });

  it('answers nothing and calls no model for a turn of reactions', async () => {
    const reaction: InboundEvent = { ...message(''), kind: 'reaction', text: undefined };
    expect(await run(responderFor(), [reaction])).toEqual([]);
    expect(fake.calls).toHaveLength(0);
  });

  it('cuts a paragraph longer than LLM_MAX_BUBBLE_CHARS at sentence ends', async () => {
    fake.inject({
      chunks: ['One sentence of some length. ', 'Another sentence follows it. ', 'And a third.'],
    });
    const bubbles = await run(responderFor({ LLM_MAX_BUBBLE_CHARS: '100' }), [message('x')]);
    expect(bubbles.join(' ')).toBe('One sentence of some length. Another sentence follows it. And a third.');
    expect(Math.max(...bubbles.map((b) => b.length))).toBeLessThanOrEqual(100);
  });
});

describe('LLM responder: abort', () => {
  it('aborts the HTTP request when turn.signal fires, and rejects with the signal reason', async () => {
    fake.inject({ chunks: Array.from({ length: 40 }, (_, i) => `Paragraph ${i}.\n\n`), chunkDelayMs: 50 });
    const controller = new AbortController();
    const output = await responderFor()(
      message('tell me a story'),
      turnOf([message('x')], controller.signal),
    );
    if (!(Symbol.asyncIterator in output)) throw new Error('expected a stream');
    const got: Reply[] = [];
    const consume = (async () => {
      for await (const reply of output) {
        got.push(reply);
        if (got.length === 2) controller.abort(new DOMException('thinking time is over', 'TimeoutError'));
      }
    })();
    await expect(consume).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect.poll(() => fake.calls[0]?.aborted).toBe(true);
    expect(fake.calls[0]?.chunksSent).toBeLessThan(10);
  });

  it('does not remember an aborted turn', async () => {
    const conversations = { saved: 0 };
    const controller = new AbortController();
    controller.abort();
    const responder = llmResponderFromEnv(envWith(), {
      log: memoryTelemetry().log,
      secrets: secretsVia(),
      conversations: {
        load: async () => [],
        save: async () => {
          conversations.saved++;
        },
      },
    });
    await expect(run(responder, [message('x')], controller.signal)).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(conversations.saved).toBe(0);
  });
});

describe('LLM responder: memory', () => {
  it('remembers a turn cut short after its first bubble as far as the user saw it (the stage will not retry it)', async () => {
    const responder = responderFor();
    fake.inject({ chunks: ['Shown first.\n\n', 'Never ', 'shown.'], chunkDelayMs: 100, dropAfterChunks: 2 });
    await expect(run(responder, [message('one')])).rejects.toBeInstanceOf(LlmUnavailableError);
    await run(responder, [message('two')]);
    expect(fake.calls.at(-1)?.request?.messages.slice(1, 3)).toEqual([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'Shown first.' },
    ]);
  });

  it('remembers nothing of a turn that failed before its first bubble (the stage retries it)', async () => {
    const responder = responderFor();
    fake.inject({ error: { status: 503, message: 'busy' } });
    await expect(run(responder, [message('one')])).rejects.toBeInstanceOf(LlmUnavailableError);
    await run(responder, [message('one')]);
    expect(fake.calls.at(-1)?.request?.messages.map((m) => m.role)).toEqual(['system', 'user']);
  });

  it('remembers the last LLM_HISTORY_TURNS turns per user and sends them back, oldest first', async () => {
    const responder = responderFor({ LLM_HISTORY_TURNS: '2' });
    for (const q of ['one', 'two', 'three']) {
      fake.inject({ chunks: [`answer to ${q}`] });
      await run(responder, [message(q)]);
    }
    await run(responder, [message('four')]);
    expect(fake.calls[3]?.request?.messages.slice(1)).toEqual([
      { role: 'user', content: 'two' },
      { role: 'assistant', content: 'answer to two' },
      { role: 'user', content: 'three' },
      { role: 'assistant', content: 'answer to three' },
      { role: 'user', content: 'four' },
    ]);
  });

  it('keeps users apart', async () => {
    const responder = responderFor();
    fake.inject({ chunks: ['secret plans for U1'] });
    await run(responder, [message('my plans', 'U1')]);
    await run(responder, [message('hello', 'U2')]);
    expect(fake.calls[1]?.request?.messages.map((m) => m.role)).toEqual(['system', 'user']);
  });

  it('stores the conversation in the state table under conv: with expiresAt = now + LLM_HISTORY_TTL_SECONDS', async () => {
    const table = fakeStateTable();
    const responder = llmResponderFromEnv(
      envWith({ STATE_TABLE_NAME: 'state', LLM_HISTORY_TTL_SECONDS: '3600' }),
      { log: memoryTelemetry().log, secrets: secretsVia(), dynamo: table.client, now: () => T0 },
    );
    fake.inject({ chunks: ['Hi!'] });
    await run(responder, [message('hello')]);
    const [key, item] = [...table.items.entries()][0] ?? [];
    expect(key).toBe('conv:["P1","U1"]');
    expect(item?.expiresAt?.N).toBe(String(T0 / 1000 + 3600));
    expect(JSON.parse(item?.turns?.S ?? '')).toEqual([{ user: 'hello', assistant: 'Hi!', at: T0 }]);
  });

  it('answers without memory when the store fails, and says so in the log', async () => {
    const telemetry = memoryTelemetry();
    const responder = llmResponderFromEnv(envWith(), {
      log: telemetry.log,
      secrets: secretsVia(),
      conversations: {
        load: async () => {
          throw new Error('ProvisionedThroughputExceeded for user text');
        },
        save: async () => {},
      },
    });
    fake.inject({ chunks: ['still here'] });
    expect(await run(responder, [message('x')])).toEqual(['still here']);
    expect(telemetry.logs.map((l) => l.message)).toContain(
      'LLM conversation memory unreadable: answering without it',
    );
    expect(JSON.stringify(telemetry.logs)).not.toContain('user text');
  });
});

const failureOf = async (responder: Responder): Promise<unknown> =>
  run(responder, [message('x')]).then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );

describe('LLM responder: errors', () => {
  it.each([
    [429, 'Rate limit reached'],
    [500, 'The server had an error'],
    [503, 'Slow down'],
  ])('maps HTTP %i to a retryable LlmUnavailableError', async (status, text) => {
    fake.inject({ error: { status, message: text } });
    const error = await failureOf(responderFor());
    expect(error).toBeInstanceOf(LlmUnavailableError);
    expect(error).toMatchObject({ retryable: true, status });
  });

  it('maps a stall beyond LLM_TIMEOUT_MS and a reset mid-stream to LlmUnavailableError', async () => {
    fake.inject({ headerDelayMs: 3000, chunks: ['late'] });
    const stalled = await failureOf(responderFor({ LLM_TIMEOUT_MS: '1000' }));
    expect(stalled).toBeInstanceOf(LlmUnavailableError);
    expect((stalled as Error).message).toContain('no response within 1000 ms');
    fake.inject({ chunks: ['a\n\n', 'b\n\n', 'c'], dropAfterChunks: 2 });
    expect(await failureOf(responderFor())).toBeInstanceOf(LlmUnavailableError);
  });

  it('maps a wrong key to a non-retryable LlmRequestError that names LLM_API_KEY and never holds the key', async () => {
    const wrongKey = 'sk-wrong-9d8c7b6a5f4e3d2c1b0a9f8e7d6c';
    const error = await failureOf(responderFor({ LLM_API_KEY: wrongKey }));
    expect(error).toBeInstanceOf(LlmRequestError);
    expect(error).toMatchObject({ retryable: false, status: 401 });
    expect((error as Error).message).toContain('check LLM_API_KEY');
    expect(fake.calls[0]?.status).toBe(401);
    expect(JSON.stringify(fake.calls[0])).toContain(wrongKey.slice(0, 20));
    expect((error as Error).message).not.toContain(wrongKey.slice(0, 12));
    expect((error as Error).message).not.toContain(wrongKey.slice(-12));
  });

  it('names the setting for other 4xx (unknown model, bad request)', async () => {
    fake.inject({ error: { status: 404, message: 'The model `nope` does not exist' } });
    const missing = await failureOf(responderFor());
    expect(missing).toBeInstanceOf(LlmRequestError);
    expect((missing as Error).message).toContain('check LLM_BASE_URL and LLM_MODEL');
    expect((missing as Error).message).toContain('The model `nope` does not exist');
    const notFound = await failureOf(responderFor({ LLM_BASE_URL: `${fake.url}/wrong` }));
    expect(notFound).toMatchObject({ status: 404 });
  });

  it('maps a refused connection to LlmUnavailableError', async () => {
    const error = await failureOf(responderFor({ LLM_BASE_URL: 'http://127.0.0.1:9/v1' }));
    expect(error).toBeInstanceOf(LlmUnavailableError);
  });
});

describe('LLM responder: the key is a secret', () => {
  it('is read once from SSM (LLM_API_KEY_PARAM) through the handler secrets, which redact it; never logged', async () => {
    const telemetry = memoryTelemetry();
    const fetched: string[] = [];
    const secrets: string[] = [];
    const responder = llmResponderFromEnv(
      { ...envWith(), LLM_API_KEY: undefined, LLM_API_KEY_PARAM: '/ellipsis/llm-key' },
      {
        log: telemetry.log,
        secrets: secretsVia(async (name) => {
          fetched.push(name);
          return KEY;
        }, secrets),
      },
    );
    await run(responder, [message('one')]);
    fake.inject({ error: { status: 500, message: `upstream echoed ${KEY}` } });
    const error = await failureOf(responder);
    expect(fetched).toEqual(['/ellipsis/llm-key']);
    expect(secrets).toEqual([KEY]);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as Error).message).toContain('[redacted]');
    expect(`${(error as Error).message}${JSON.stringify(telemetry.logs)}`).not.toContain(KEY.slice(4, 16));
  });

  it('fails at construction with a ConfigError naming the variable, never its value', () => {
    expect(() =>
      llmResponderFromEnv(
        { ...envWith(), LLM_MODEL: undefined },
        { log: memoryTelemetry().log, secrets: secretsVia() },
      ),
    ).toThrow(/LLM_MODEL/);
    expect(() =>
      llmResponderFromEnv(
        { ...envWith(), LLM_API_KEY: undefined },
        { log: memoryTelemetry().log, secrets: secretsVia() },
      ),
    ).toThrow(/LLM_API_KEY or LLM_API_KEY_PARAM is required/);
    try {
      llmResponderFromEnv(
        { ...envWith(), LLM_BASE_URL: `not a url ${KEY}` },
        { log: memoryTelemetry().log, secrets: secretsVia() },
      );
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('LLM_BASE_URL');
      expect((error as Error).message).not.toContain(KEY);
    }
  });

  it('an SSM failure is a ConfigError naming the parameter, retried on the next turn', async () => {
    let calls = 0;
    const responder = llmResponderFromEnv(
      { ...envWith(), LLM_API_KEY: undefined, LLM_API_KEY_PARAM: '/ellipsis/llm-key' },
      {
        log: memoryTelemetry().log,
        secrets: secretsVia(async () => {
          calls++;
          if (calls === 1) throw new Error(`throttled ${KEY}`);
          return KEY;
        }),
      },
    );
    const first = await failureOf(responder);
    expect((first as Error).message).toContain('/ellipsis/llm-key');
    expect((first as Error).message).not.toContain(KEY);
    fake.inject({ chunks: ['ok'] });
    expect(await run(responder, [message('again')])).toEqual(['ok']);
  });
});
