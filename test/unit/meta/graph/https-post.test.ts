/**
 * The Graph transport declares the body's length in bytes, not in characters: a reply with an emoji, an
 * accent or Cyrillic is longer in UTF-8 than in UTF-16 code units, and a Content-Length counted in the
 * latter makes the server read a cut body (RFC 9110 §8.6: Content-Length is the number of octets). A real
 * node:http server on 127.0.0.1 reads what postJson sends.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepAliveAgent, postJson } from '../../../../lib/meta/graph/https-post.ts';

/** What the server received: the declared length and the body it read by that length. */
type Received = { declared: string | undefined; body: string };

let server: Server;
let url: URL;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer(async (request: IncomingMessage, response) => {
    const body = await text(request);
    received.push({ declared: request.headers['content-length'], body });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ recipient_id: '1', message_id: 'm_ok' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v23.0/me/messages`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('postJson: the body on the wire', () => {
  it.each([
    ['ASCII', 'Your order ships today.'],
    ['accents', 'Ça arrive demain, café compris.'],
    ['Cyrillic', 'Заказ отправлен сегодня.'],
    ['emoji (4 bytes, 2 UTF-16 units each)', 'Shipped 📦🚚 — see you soon 👋'],
  ])('arrives whole and parseable with %s', async (_kind, reply) => {
    const agent = keepAliveAgent({ protocol: 'http:' });
    const body = JSON.stringify({ recipient: { id: '7700000000000000001' }, message: { text: reply } });
    const outcome = await postJson(agent, url, body, AbortSignal.timeout(10_000));
    agent.destroy();

    expect(outcome).toMatchObject({ answered: true, status: 200 });
    const got = received.at(-1);
    expect(got?.declared).toBe(String(Buffer.byteLength(body, 'utf8')));
    expect(got?.body).toBe(body);
    expect(JSON.parse(got?.body ?? '')).toMatchObject({ message: { text: reply } });
  });
});
