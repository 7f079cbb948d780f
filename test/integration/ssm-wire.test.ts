/**
 * The handlers' real secrets path: no injected fetchParameter, so lib/platform/ssm.ts → Powertools
 * `getParameter(name, { decrypt: true })` → the SDK's SSMClient, found through AWS_ENDPOINT_URL_SSM, against a
 * GetParameter stub speaking SSM's JSON 1.1 protocol (test/support/ssm-stub.ts). Proves the request shape
 * (decryption asked for, signed for the `ssm` service), the caching, and a missing parameter's error.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { makeHandler as makeSenderHandler } from '../../functions/sender.ts';
import { makeHandler as makeWebhookHandler } from '../../functions/webhook.ts';
import { memoryLedger } from '../../lib/platform/ledger.ts';
import { apiGatewayEvent } from '../../local/http.ts';
import { postEvent, signatureOf, webhookBody } from '../../local/meta.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/sqs.ts';
import { type SsmStub, startSsmStub } from '../support/ssm-stub.ts';
import { memoryTelemetry } from '../support/telemetry.ts';

const SECRETS = {
  '/ellipsis/wire/app-secret': 'wire-app-secret-5b1f0c',
  '/ellipsis/wire/verify-token': 'wire-verify-token-9e2d',
  '/ellipsis/wire/page-access-token': 'EAABwirePageToken7f3a',
  '/ellipsis/fresh/app-secret': 'fresh-app-secret-11aa',
  '/ellipsis/fresh/verify-token': 'fresh-verify-token-22bb',
};

let ssm: SsmStub;
beforeAll(async () => {
  ssm = await startSsmStub(SECRETS);
  // As Lambda gives a function its region and role credentials; the endpoint is the stub's.
  vi.stubEnv('AWS_REGION', LOCAL_REGION);
  vi.stubEnv('AWS_ACCESS_KEY_ID', LOCAL_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', LOCAL_CREDENTIALS.secretAccessKey);
  vi.stubEnv('AWS_ENDPOINT_URL_SSM', ssm.endpoint);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await ssm?.stop();
});

const webhookEnv = (prefix: string) => ({
  QUEUE_URL: 'http://127.0.0.1:1/000000000000/steps.fifo',
  RESPONDER_QUEUE_URL: 'http://127.0.0.1:1/000000000000/responder.fifo',
  META_APP_SECRET_PARAM: `${prefix}/app-secret`,
  META_VERIFY_TOKEN_PARAM: `${prefix}/verify-token`,
});

/** A webhook container on the real SSM path (queues and ledger are not what this file is about). */
const webhookContainer = (prefix: string) => {
  const telemetry = memoryTelemetry();
  const enqueued: unknown[] = [];
  const handler = makeWebhookHandler(webhookEnv(prefix), {
    telemetry,
    ledger: memoryLedger(),
    enqueue: async (seq) => enqueued.push(seq),
    enqueueInbound: async (inbound) => enqueued.push(inbound),
  });
  return { handler, telemetry, enqueued };
};

const verifyGet = (token: string): APIGatewayProxyEventV2 =>
  apiGatewayEvent(
    {
      method: 'GET',
      url: `/webhook?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=4242`,
      headers: {},
      body: new Uint8Array(),
      sourceIp: '173.252.127.1',
      protocol: 'HTTP/1.1',
    },
    'GET /webhook',
    Date.now(),
  );

const signedPost = (appSecret: string, mid: string) => {
  const body = webhookBody({ pageId: 'PAGE', psid: 'USER', timestamp: Date.now(), mid, text: 'hi' });
  return postEvent(body, { 'x-hub-signature-256': signatureOf(body, appSecret) });
};

const requestsFor = (name: string) => ssm.requests.filter((r) => r.name === name);

describe('the webhook on the real SSM path', () => {
  test('reads each secret with GetParameter, decryption asked for, signed for ssm, and uses the plaintext', async () => {
    const { handler, enqueued } = webhookContainer('/ellipsis/wire');
    const verified = await handler(verifyGet(SECRETS['/ellipsis/wire/verify-token']));
    expect(verified).toMatchObject({ statusCode: 200, body: '4242' });
    const posted = await handler(signedPost(SECRETS['/ellipsis/wire/app-secret'], 'm_wire'));
    expect(posted.statusCode).toBe(200);
    expect(enqueued.length).toBeGreaterThan(0);
    for (const name of ['/ellipsis/wire/app-secret', '/ellipsis/wire/verify-token']) {
      const [request, ...more] = requestsFor(name);
      expect(more).toEqual([]);
      expect(request).toMatchObject({ target: 'AmazonSSM.GetParameter', withDecryption: true });
      expect(request?.credentialScope).toMatch(new RegExp(`^local/\\d{8}/${LOCAL_REGION}/ssm/aws4_request$`));
    }
  });

  test('caches as documented: once per container, then Powertools serves a new container within its max age', async () => {
    vi.stubEnv('POWERTOOLS_PARAMETERS_MAX_AGE', '600');
    const first = webhookContainer('/ellipsis/fresh');
    for (let i = 0; i < 3; i++) expect((await first.handler(verifyGet('wrong'))).statusCode).toBe(403);
    expect(requestsFor('/ellipsis/fresh/verify-token')).toHaveLength(1);
    const second = webhookContainer('/ellipsis/fresh');
    expect((await second.handler(verifyGet(SECRETS['/ellipsis/fresh/verify-token']))).statusCode).toBe(200);
    expect(requestsFor('/ellipsis/fresh/verify-token')).toHaveLength(1);
  });

  test('with POWERTOOLS_PARAMETERS_MAX_AGE=0 every new container reads SSM again', async () => {
    vi.stubEnv('POWERTOOLS_PARAMETERS_MAX_AGE', '0');
    const before = requestsFor('/ellipsis/wire/page-access-token').length;
    const sender = () =>
      makeSenderHandler(
        {
          QUEUE_URL: 'http://127.0.0.1:1/000000000000/steps.fifo',
          META_APP_SECRET: 'given-as-a-value',
          META_PAGE_ACCESS_TOKEN_PARAM: '/ellipsis/wire/page-access-token',
        },
        { telemetry: memoryTelemetry(), ledger: memoryLedger() },
      );
    for (let i = 0; i < 2; i++) expect(await sender()({ Records: [] })).toEqual({ batchItemFailures: [] });
    expect(requestsFor('/ellipsis/wire/page-access-token').length - before).toBe(2);
  });
});

describe('a missing parameter', () => {
  test('fails the webhook start-up naming the parameter, never a value, and is retried at the next invocation', async () => {
    const env = { ...webhookEnv('/ellipsis/wire'), META_VERIFY_TOKEN_PARAM: '/ellipsis/wire/missing-token' };
    const telemetry = memoryTelemetry();
    const handler = makeWebhookHandler(env, { telemetry, ledger: memoryLedger() });
    for (let i = 0; i < 2; i++)
      expect(await handler(verifyGet('x'))).toMatchObject({
        statusCode: 500,
        body: 'webhook is not configured',
      });
    expect(requestsFor('/ellipsis/wire/missing-token')).toHaveLength(2);
    const logged = JSON.stringify(telemetry.logs);
    expect(logged).toContain('META_VERIFY_TOKEN: could not read SSM parameter /ellipsis/wire/missing-token');
    for (const value of Object.values(SECRETS)) expect(logged).not.toContain(value);
  });

  test('fails the sender start-up (the batch goes back untouched) with the same safe reason', async () => {
    const handler = makeSenderHandler(
      {
        QUEUE_URL: 'http://127.0.0.1:1/000000000000/steps.fifo',
        META_APP_SECRET_PARAM: '/ellipsis/wire/app-secret',
        META_PAGE_ACCESS_TOKEN_PARAM: '/ellipsis/wire/no-such-token',
      },
      { telemetry: memoryTelemetry(), ledger: memoryLedger() },
    );
    const failure = await handler({ Records: [] }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toContain(
      'META_PAGE_ACCESS_TOKEN: could not read SSM parameter /ellipsis/wire/no-such-token',
    );
    for (const value of Object.values(SECRETS)) expect(message).not.toContain(value);
  });
});
