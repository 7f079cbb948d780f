/**
 * One JSON POST over node:https (node:http for an http:// base URL: the local Graph fake and tests) through
 * a keep-alive Agent. The AWS SDK's own request handler already loads node:https, so this transport adds
 * nothing to the sender's cold start (issue #13; undici's Pool and request API added ~15 ms of import).
 *
 * Never rejects: the answer (status, headers, body text), or the error and whether a socket was ever ready
 * to carry the request — network-errors.ts needs that to tell "provably not sent" from "Meta may have it".
 */
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';

import type { Socket } from 'node:net';
import { text } from 'node:stream/consumers';
import type { ResponseHeaders } from './usage.ts';

/**
 * node:http / node:https as CommonJS objects (Node docs, `process.getBuiltinModule`). An ESM `import` of
 * node:http builds its namespace from every export, lazy ones included (WebSocket, MessageEvent…), and so
 * loads Node's bundled undici and http2: ~18 ms of the sender's cold start for nothing (coldstart bench).
 */
const transportFor = (protocol: string) =>
  protocol === 'http:' ? process.getBuiltinModule('node:http') : process.getBuiltinModule('node:https');

export type PostOutcome =
  | { answered: true; status: number; headers: ResponseHeaders; text: string }
  /** `connected`: a socket was ready (TCP up, TLS done) before the failure, so request bytes may have left. */
  | { answered: false; error: unknown; connected: boolean };

export type KeepAliveOptions = {
  /** `http:` or `https:`, the base URL's. */
  protocol: string;
  /** Most sockets open at once to the origin; more calls wait for a free one. */
  connections?: number;
  /** How long an idle socket is kept for the next call (ms). */
  idleMs?: number;
};

/**
 * One keep-alive Agent per container: later invocations reuse its TLS connections (Node http.Agent docs).
 * `timeout` is what ends an idle socket: the Agent destroys a free socket when it fires, and shortens it to
 * the server's `Keep-Alive: timeout=` hint minus 1 s (agentKeepAliveTimeoutBuffer) when that is shorter.
 * 60 s, not built-in fetch's 4 s: a sender invocation minutes apart still finds its socket warm.
 * `keepAliveMsecs` is only the TCP keep-alive probe delay, left at its default. `lifo` (Node's default, set
 * so it is a decision): the most recently used socket goes first, so at the sender's low rate one socket
 * stays warm and the surplus from a burst idles out, and a reused socket is the least likely one the server
 * has already closed.
 */
export const keepAliveAgent = ({
  protocol,
  connections = 16,
  idleMs = 60_000,
}: KeepAliveOptions): HttpAgent => {
  const { Agent } = transportFor(protocol);
  return new Agent({ keepAlive: true, maxSockets: connections, timeout: idleMs, scheduling: 'lifo' });
};

/**
 * Calls `onReady` once the socket can carry request bytes. Before that, nothing leaves: net.Socket queues
 * writes until it connects and TLS holds cleartext until its handshake is done. A socket handed over already
 * connected (reused from the free list, or passed on to a queued call) is not `connecting`; a fresh one is
 * `connecting` from its creation (DNS lookup included) until TCP connects, which is after the 'socket' event.
 */
const whenReady = (socket: Socket, tls: boolean, onReady: () => void): void => {
  if (!socket.connecting) onReady();
  else socket.once(tls ? 'secureConnect' : 'connect', onReady);
};

/** The answer, read whole as utf8 text; a failure while reading is a failure like any other. */
const answerOf = async (response: IncomingMessage): Promise<PostOutcome> => ({
  answered: true,
  status: response.statusCode ?? 0,
  // Always arrays, never joined with ", " as `headers` joins repeats: a usage header stays parseable JSON.
  headers: response.headersDistinct,
  text: await text(response),
});

/** POSTs `body` as JSON to `url`; the whole call (connect, headers, body) ends when `signal` aborts. */
export const postJson = (
  agent: HttpAgent,
  url: URL,
  body: string,
  signal: AbortSignal,
): Promise<PostOutcome> =>
  new Promise((resolve) => {
    let connected = false;
    const fail = (error: unknown) => resolve({ answered: false, error, connected });
    const tls = url.protocol === 'https:';
    const request = transportFor(url.protocol).request(url, {
      method: 'POST',
      agent,
      signal,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    request.on('socket', (socket: Socket) =>
      whenReady(socket, tls, () => {
        connected = true;
      }),
    );
    request.on('error', fail);
    request.on('response', (response) => answerOf(response).then(resolve, fail));
    request.end(body);
  });
