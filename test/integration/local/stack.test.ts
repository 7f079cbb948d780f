import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ChatEvent, type Stack, startStack } from '../../../local/stack.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { PLAN_TIME_SCALE: '0.05' },
    webhookOverrides: { telemetry: memoryTelemetry() },
    senderOverrides: { telemetry: memoryTelemetry() },
  });
});
afterAll(() => stack?.stop());

const say = (body: unknown) =>
  fetch(`${stack.url}/local/say`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-ellipsis-token': stack.localToken },
    body: JSON.stringify(body),
  });

/** Opens the SSE stream and resolves once the stack has subscribed it (its `: connected` comment). */
const openEvents = async (signal: AbortSignal) => {
  const res = await fetch(`${stack.url}/local/events?token=${stack.localToken}`, { signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!buffer.includes(': connected\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
  }
  return { res, reader, buffer: buffer.slice(buffer.indexOf(': connected\n\n') + 14) };
};

/** Reads the SSE stream until `last` matches an event for `psid`. */
const readEvents = async (
  psid: string,
  last: (e: ChatEvent) => boolean,
  opened: Awaited<ReturnType<typeof openEvents>>,
): Promise<ChatEvent[]> => {
  const { res, reader } = opened;
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const events: ChatEvent[] = [];
  let buffer = opened.buffer;
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!frame.startsWith('data: ')) continue;
      const event = JSON.parse(frame.slice(6)) as ChatEvent;
      if (event.psid === psid) events.push(event);
      if (event.psid === psid && last(event)) return events;
    }
  }
  return events;
};

describe('local stack: chat view routes', () => {
  test('serves the chat page and its assets, and nothing else from disk', async () => {
    const page = await fetch(`${stack.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    expect((await fetch(`${stack.url}/app.js`)).headers.get('content-type')).toContain('text/javascript');
    expect((await fetch(`${stack.url}/style.css`)).headers.get('content-type')).toContain('text/css');
    expect((await fetch(`${stack.url}/../stack.ts`)).status).toBe(404);
    expect((await fetch(`${stack.url}/web/app.js`)).status).toBe(404);
    const config = fetch(`${stack.url}/local/config`, { headers: { 'x-ellipsis-token': stack.localToken } });
    expect(await (await config).json()).toEqual({
      pageId: stack.pageId,
      accounts: [{ id: stack.pageId, channel: 'messenger' }],
      graph: 'local',
    });
  });

  test.each([
    [{ text: 'hi' }, /psid/],
    [{ psid: 'bad id!', text: 'hi' }, /psid/],
    [{ psid: 'ok', text: '   ' }, /text/],
    [{ psid: 'ok', text: 'x'.repeat(2001) }, /text/],
    // Any JSON value is a body too: none of these may crash the route.
    [null, /expected object/],
    [[], /expected object/],
    [5, /expected object/],
    [{ psid: 'ok', text: 'hi', quickReplyPayload: 7 }, /quickReplyPayload/],
  ])('rejects the /local/say body %j with a reason', async (body, reason) => {
    const res = await say(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(reason);
  });

  test('/local/say goes through the signed webhook; the stream shows the user message, then each Graph call', async () => {
    const abort = new AbortController();
    const opened = await openEvents(abort.signal);
    const events = readEvents('stream-user', (e) => e.type === 'graph' && e.kind === 'message', opened);
    const res = await say({ psid: 'stream-user', text: 'hello' });
    expect(await res.json()).toEqual({ webhookStatus: 200, webhookAnswer: 'EVENT_RECEIVED' });
    const got = await events;
    abort.abort();
    expect(got[0]).toMatchObject({ type: 'user', psid: 'stream-user', text: 'hello', pageId: stack.pageId });
    // typing_on may be skipped when it runs late (the sender's rule), so it is not required here.
    const kinds = got.slice(1).map((e) => (e.type === 'graph' ? e.kind : e.type));
    expect(kinds.filter((k) => k !== 'typing_on')).toEqual(['mark_seen', 'message']);
  });

  test('a quick-reply tap reaches the webhook with its payload', async () => {
    const abort = new AbortController();
    const events = readEvents('chip-user', (e) => e.type === 'user', await openEvents(abort.signal));
    await say({ psid: 'chip-user', text: 'What can you do?', quickReplyPayload: 'HELP' });
    const [first] = await events;
    abort.abort();
    expect(first).toMatchObject({ type: 'user', quickReplyPayload: 'HELP' });
  });
});
