/** The local OpenAI-compatible fake is strict where OpenAI is, so a client that passes here sends what OpenAI reads. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoAnswer, type OpenAiFake, startOpenAiFake } from '../../../local/openai-fake.ts';

const KEY = 'sk-fake-test-key-000000000000';
let fake: OpenAiFake;

beforeAll(async () => {
  fake = await startOpenAiFake({ apiKey: KEY });
});
afterAll(() => fake.stop());

const post = (body: unknown, key = KEY, path = '/v1/chat/completions') =>
  fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const valid = { model: 'm', stream: true as const, messages: [{ role: 'user' as const, content: 'hello' }] };

/** The text deltas of an SSE body, and whether it ended with [DONE]. */
const deltasOf = (sse: string): { deltas: string[]; done: boolean } => {
  const data = sse
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
  const deltas = data
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d).choices[0].delta.content)
    .filter((c): c is string => typeof c === 'string');
  return { deltas, done: data.at(-1) === '[DONE]' };
};

describe('local OpenAI fake', () => {
  it('streams chat.completion.chunk events ending with [DONE], and records the call', async () => {
    fake.inject({ chunks: ['Hel', 'lo'] });
    const res = await post(valid);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(deltasOf(await res.text())).toEqual({ deltas: ['Hel', 'lo'], done: true });
    expect(fake.calls.at(-1)).toMatchObject({ status: 200, chunksSent: 2, aborted: false, request: valid });
  });

  it('echoes the last user message by default, in three paragraphs', async () => {
    const answer = echoAnswer({ ...valid, messages: [{ role: 'user', content: 'ping' }] });
    expect((answer.chunks ?? []).join('').split('\n\n')).toHaveLength(3);
    expect((answer.chunks ?? []).join('')).toContain('You wrote: “ping”.');
  });

  it('answers 401 to a wrong bearer key, 404 to another path, 400 naming a bad or unknown field', async () => {
    expect((await post(valid, 'sk-wrong')).status).toBe(401);
    expect((await post(valid, KEY, '/v1/completions')).status).toBe(404);
    const unknownField = await post({ ...valid, stream_options: { include_usage: true } });
    expect(unknownField.status).toBe(400);
    expect(JSON.stringify(await unknownField.json())).toContain('stream_options');
    const badRole = await post({ ...valid, messages: [{ role: 'robot', content: 'x' }] });
    expect(JSON.stringify(await badRole.json())).toContain('messages.0.role');
    expect((await post({ ...valid, stream: false })).status).toBe(400);
  });

  it('injects errors as OpenAI shapes them', async () => {
    fake.inject({ error: { status: 429, message: 'Rate limit reached', code: 'rate_limit_exceeded' } });
    const res = await post(valid);
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({
      error: {
        message: 'Rate limit reached',
        type: 'invalid_request_error',
        code: 'rate_limit_exceeded',
        param: null,
      },
    });
  });

  it('notices a client that hangs up mid-stream and stops streaming', async () => {
    fake.inject({ chunks: Array.from({ length: 50 }, () => 'x'), chunkDelayMs: 20 });
    const res = await post(valid);
    const reader = res.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    await expect.poll(() => fake.calls.at(-1)?.aborted).toBe(true);
    expect(fake.calls.at(-1)?.chunksSent).toBeLessThan(50);
  });
});
