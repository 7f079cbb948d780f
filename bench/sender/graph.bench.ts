/**
 * lib/meta/graph/client.ts (node:https keep-alive Agent) vs messaging-api-messenger (axios, what Bottender
 * uses), both sending the same Send API body with appsecret_proof to one local HTTP server on 127.0.0.1 that
 * runs in its own process; next to them the transports bare, posting the same bytes: node:http(s) with a
 * keep-alive Agent (what graph.ts uses), undici's Pool.request (what it used) and Node's built-in fetch.
 * Rounds are interleaved and rotate which client goes first.
 */
import { request as httpRequest } from 'node:http';
import { text } from 'node:stream/consumers';
import { MessengerClient } from 'messaging-api-messenger';
import { Pool } from 'undici';
import { graphClient } from '../../lib/meta/graph/client.ts';
import { keepAliveAgent } from '../../lib/meta/graph/https-post.ts';
import type { Bench } from '../support/report.ts';
import { spawnHelper } from '../support/spawn.ts';
import { distribution } from '../support/stats.ts';

const ACCESS_TOKEN = `EAAG${'x'.repeat(180)}`;
const APP_SECRET = 'bench-app-secret-0123456789abcdef';
const PAGE_ID = '104729348572910';
const PSID = '7712384950193847';
const action = { message: { text: 'Hello from the bench — thanks for writing!' } };

type Sender = { name: string; send: () => Promise<boolean> };

/** The same POST graph.ts makes (token and proof in the query), without the client around it. */
const rawPost = (origin: string) => {
  const path = `/v25.0/${PAGE_ID}/messages?access_token=${ACCESS_TOKEN}&appsecret_proof=${'0'.repeat(64)}`;
  const body = JSON.stringify({ recipient: { id: PSID }, messaging_type: 'RESPONSE', ...action });
  const headers = { 'content-type': 'application/json' };
  const pool = new Pool(origin, { connections: 16, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
  const agent = keepAliveAgent({ protocol: 'http:' });
  const viaNode = () =>
    new Promise<boolean>((resolve, reject) => {
      const request = httpRequest(`${origin}${path}`, { method: 'POST', agent, headers });
      request.on('error', reject);
      request.on('response', (response) => text(response).then((t) => resolve(t.includes(PSID)), reject));
      request.end(body);
    });
  const viaFetch = async () => {
    const response = await fetch(`${origin}${path}`, { method: 'POST', headers, body });
    return (await response.text()).includes(PSID);
  };
  const viaPool = async () => {
    const response = await pool.request({ origin, path, method: 'POST', headers, body });
    return (await response.body.text()).includes(PSID);
  };
  const close = async () => {
    agent.destroy();
    await pool.close();
  };
  return { viaNode, viaFetch, viaPool, close };
};

/** Runs `total` sends with at most `concurrency` in flight; returns elapsed ms and per-request latencies. */
const drive = async (sender: Sender, total: number, concurrency: number) => {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      next++;
      const t0 = performance.now();
      if (!(await sender.send())) failures++;
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { elapsedMs: performance.now() - started, latencies, failures };
};

export const bench: Bench = {
  title:
    'Graph client: lib/meta/graph/client.ts (node:https) vs messaging-api-messenger (axios); node:http Agent, undici Pool, fetch bare',
  run: async () => {
    const server = await spawnHelper<{ port: number }>(
      new URL('../support/child-server.ts', import.meta.url).pathname,
    );
    const origin = `http://127.0.0.1:${server.info.port}`;
    const ours = graphClient({
      baseUrl: origin,
      version: 'v25.0',
      accessToken: ACCESS_TOKEN,
      appSecret: APP_SECRET,
      timeoutMs: 10_000,
    });
    const theirs = new MessengerClient({
      accessToken: ACCESS_TOKEN,
      appSecret: APP_SECRET,
      version: '25.0',
      origin,
    });
    const raw = rawPost(origin);
    const senders: Sender[] = [
      {
        name: 'lib/meta/graph/client.ts (node:https)',
        send: async () => (await ours.sendAction({ pageId: PAGE_ID, psid: PSID, action })).ok,
      },
      {
        name: 'messaging-api-messenger (axios)',
        send: async () => {
          const out = (await theirs.sendRawBody({
            recipient: { id: PSID },
            messaging_type: 'RESPONSE',
            message: action.message,
          })) as { recipientId?: string };
          return out.recipientId === PSID;
        },
      },
      { name: 'bare POST: node:http(s) keep-alive Agent', send: raw.viaNode },
      { name: 'bare POST: global fetch', send: raw.viaFetch },
      { name: 'bare POST: undici Pool.request', send: raw.viaPool },
    ];
    const levels = [1, 16];
    const rounds = 5;
    const perRound = 800;
    const rows = [];
    const data: Record<string, unknown> = {};
    try {
      for (const s of senders) await drive(s, 400, 8); // warm-up: JIT, sockets
      for (const concurrency of levels) {
        const rates = new Map<string, number[]>(senders.map((s) => [s.name, []]));
        const latencies = new Map<string, number[]>(senders.map((s) => [s.name, []]));
        const failures = new Map<string, number>(senders.map((s) => [s.name, 0]));
        for (let r = 0; r < rounds; r++) {
          for (let i = 0; i < senders.length; i++) {
            const s = senders[(i + r) % senders.length]!;
            const out = await drive(s, perRound, concurrency);
            rates.get(s.name)!.push((perRound * 1000) / out.elapsedMs);
            latencies.get(s.name)!.push(...out.latencies);
            failures.set(s.name, failures.get(s.name)! + out.failures);
          }
        }
        const base = distribution(rates.get(senders[1]!.name)!).p50;
        for (const s of senders) {
          const rate = distribution(rates.get(s.name)!);
          const lat = distribution(latencies.get(s.name)!);
          data[`${s.name} @${concurrency}`] = { rate, latencyMs: lat };
          rows.push([
            s.name,
            concurrency,
            rate.p50,
            rate.p50 / base,
            lat.p50,
            lat.p99,
            failures.get(s.name)!,
          ] as const);
        }
      }
    } finally {
      await ours.close();
      await raw.close();
      await server.stop();
    }
    return {
      tables: [
        {
          title: 'Graph Send API client against a local server (127.0.0.1)',
          columns: ['client', 'in flight', 'req/s (median round)', '× axios', 'p50 ms', 'p99 ms', 'failures'],
          rows,
          notes: [
            `${rounds} interleaved rounds × ${perRound} requests per client and level after a 400-request warm-up; both add appsecret_proof; server in a separate process.`,
            'The local server speaks plain HTTP, so the node:https rows run through node:http (same Agent and request code; no TLS measured).',
            'messaging-api-messenger recomputes appsecret_proof per request; lib/meta/graph/client.ts once per client. The sender runs one step per invocation (batchSize 1), so "1 in flight" is the production shape.',
          ],
        },
      ],
      data,
    };
  },
};
