import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, test } from 'vitest';
import { parseWebhookBody } from '../../../lib/meta/inbound.ts';
import { verifySignature } from '../../../lib/webhook/signature.ts';
import { type HttpApiOptions, startHttpApi } from '../../../local/http.ts';
import { signatureOf, webhookBody } from '../../../local/meta.ts';
import { corpusDir } from '../../support/corpus.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const start = async (options: HttpApiOptions) => {
  const api = await startHttpApi(options);
  cleanups.push(api.stop);
  return api;
};

describe('local API Gateway (HTTP API, payload 2.0)', () => {
  test('turns a request into a v2 event: lower-cased joined headers, cookies, query, exact UTF-8 body', async () => {
    const events: APIGatewayProxyEventV2[] = [];
    const api = await start({
      routes: [
        {
          method: 'POST',
          path: '/webhook',
          handler: async (e) => {
            events.push(e);
            return { statusCode: 200, body: 'EVENT_RECEIVED' };
          },
        },
      ],
    });
    const body = '{"text":"caf\\u00e9 \\/ ünï ❤️","t":1492414608999.0}';
    const res = await fetch(`${api.url}/webhook?a=1&a=2&hub.mode=subscribe`, {
      method: 'POST',
      headers: [
        ['Content-Type', 'application/json'],
        ['X-Hub-Signature-256', 'sha256=abc'],
        ['Cookie', 'a=1; b=2'],
      ],
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('EVENT_RECEIVED');
    const e = events[0];
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: 'POST /webhook',
      rawPath: '/webhook',
      rawQueryString: 'a=1&a=2&hub.mode=subscribe',
      queryStringParameters: { a: '1,2', 'hub.mode': 'subscribe' },
      cookies: ['a=1', 'b=2'],
      isBase64Encoded: false,
      body,
      requestContext: {
        http: { method: 'POST', path: '/webhook' },
        routeKey: 'POST /webhook',
        stage: '$default',
      },
    });
    expect(e?.headers['x-hub-signature-256']).toBe('sha256=abc');
    expect(e?.headers.cookie).toBeUndefined();
    expect(Buffer.from(e?.body ?? '', 'utf8').equals(Buffer.from(body, 'utf8'))).toBe(true);
  });

  test('joins repeated headers with commas', async () => {
    const events: APIGatewayProxyEventV2[] = [];
    const api = await start({
      routes: [
        {
          method: 'GET',
          path: '/h',
          handler: async (e) => {
            events.push(e);
            return '';
          },
        },
      ],
    });
    await new Promise<void>((resolve, reject) => {
      const req = request(`${api.url}/h`, { headers: { 'X-Multi': ['one', 'two'] } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    expect(events[0]?.headers['x-multi']).toBe('one,two');
  });

  test('base64-encodes a binary body and omits an empty one', async () => {
    const events: APIGatewayProxyEventV2[] = [];
    const api = await start({
      routes: ['POST', 'GET'].map((method) => ({
        method,
        path: '/x',
        handler: async (e: APIGatewayProxyEventV2) => {
          events.push(e);
          return '';
        },
      })),
    });
    const bytes = Buffer.from([0, 255, 1, 2]);
    await fetch(`${api.url}/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    await fetch(`${api.url}/x`);
    expect(events[0]).toMatchObject({ isBase64Encoded: true, body: bytes.toString('base64') });
    expect(events[1]?.body).toBeUndefined();
    expect(events[1]?.isBase64Encoded).toBe(false);
  });

  test('maps every Lambda result form back to HTTP as API Gateway does', async () => {
    const api = await start({
      routes: [
        { method: 'GET', path: '/string', handler: async () => 'challenge-123' },
        {
          method: 'GET',
          path: '/object',
          handler: async () => ({ statusCode: undefined, ok: true }) as never,
        },
        {
          method: 'GET',
          path: '/structured',
          handler: async () => ({
            statusCode: 403,
            headers: { 'X-Reason': 'bad signature' },
            cookies: ['s=1'],
            body: Buffer.from('forbidden').toString('base64'),
            isBase64Encoded: true,
          }),
        },
        {
          method: 'GET',
          path: '/throws',
          handler: async () => {
            throw new Error('secret detail');
          },
        },
      ],
    });
    const s = await fetch(`${api.url}/string`);
    expect([s.status, s.headers.get('content-type'), await s.text()]).toEqual([
      200,
      'application/json',
      'challenge-123',
    ]);
    const st = await fetch(`${api.url}/structured`);
    expect([st.status, st.headers.get('x-reason'), st.headers.get('set-cookie'), await st.text()]).toEqual([
      403,
      'bad signature',
      's=1',
      'forbidden',
    ]);
    const t = await fetch(`${api.url}/throws`);
    expect([t.status, await t.json()]).toEqual([500, { message: 'Internal Server Error' }]);
    const n = await fetch(`${api.url}/nowhere`);
    expect([n.status, await n.json()]).toEqual([404, { message: 'Not Found' }]);
  });

  test('answers 503 when the handler outlives the integration timeout', async () => {
    const api = await start({
      timeoutMs: 30,
      routes: [
        { method: 'GET', path: '/slow', handler: () => new Promise((r) => setTimeout(() => r('late'), 200)) },
      ],
    });
    const res = await fetch(`${api.url}/slow`);
    expect([res.status, await res.json()]).toEqual([503, { message: 'Service Unavailable' }]);
  });

  test('serves local routes next to the Lambda routes', async () => {
    const api = await start({
      routes: [],
      local: [
        (_req, res, url) => {
          if (url.pathname !== '/hello') return false;
          res.end('hi');
          return true;
        },
      ],
    });
    expect(await (await fetch(`${api.url}/hello`)).text()).toBe('hi');
    expect((await fetch(`${api.url}/other`)).status).toBe(404);
  });

  test('names the variable to change when the port is taken', async () => {
    const api = await start({ routes: [] });
    await expect(startHttpApi({ port: api.port, routes: [] })).rejects.toThrow(
      /already in use \(set ELLIPSIS_PORT\)/,
    );
  });
});

describe('Meta side: webhook bodies and signatures', () => {
  test('builds bodies the webhook parser understands, signed as the webhook verifies', () => {
    const raw = webhookBody(
      { pageId: '111', psid: '222', timestamp: 1_700_000_000_000, text: 'héllo', mid: 'm_1' },
      {
        pageId: '111',
        psid: '222',
        timestamp: 1_700_000_000_001,
        text: 'Yes',
        quickReplyPayload: 'YES',
        mid: 'm_2',
      },
    );
    const parsed = parseWebhookBody(JSON.parse(raw));
    expect(parsed.events.map((e) => [e.kind, e.psid, e.pageId, e.text, e.quickReplyPayload ?? null])).toEqual(
      [
        ['message', '222', '111', 'héllo', null],
        ['message', '222', '111', 'Yes', 'YES'],
      ],
    );
    expect(verifySignature(Buffer.from(raw), signatureOf(raw, 's3cret'), 's3cret')).toBe(true);
    expect(verifySignature(Buffer.from(raw), signatureOf(raw, 'other'), 's3cret')).toBe(false);
  });

  const vector = join(corpusDir, 'webhooks', 'signed-text-34wrr3wr.json');
  test.skipIf(!existsSync(vector))(
    'signs a corpus body to its published signature (skipped without shared corpus)',
    () => {
      expect(signatureOf(readFileSync(vector), '60efff025951cddde78c8d03de52cc90')).toBe(
        'sha256=2c28be6e4b8c62b732b3487f445dbec6624868db6844b347567ebc86d7da3ad4',
      );
    },
  );
});
