/**
 * The public webhook rejects cheaply and says nothing about what it rejects (#15): the size limit applies
 * before the body is hashed, and a body that fails the signature is never decoded, parsed or logged, so a
 * flood of forged POSTs costs one length check or one HMAC each and leaves no attacker text in the logs.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeHandler } from '../../../functions/webhook.ts';
import { memoryLedger } from '../../../lib/platform/ledger.ts';
import { handleWebhook, type WebhookDeps, type WebhookRequest } from '../../../lib/webhook/webhook.ts';
import { hubSignature } from '../../support/signing.ts';
import { memoryTelemetry } from '../../support/telemetry.ts';

const SECRET = 'reject-early-app-secret';
const MAX_BODY_BYTES = 2048;
/** Appears in every forged body: it must never reach a log line, a metric dimension or an answer. */
const MARKER = 'FORGED-PAYLOAD-7c1d';

const forgedBody = (text: string) =>
  JSON.stringify({
    object: 'page',
    entry: [{ id: '1', time: 1, messaging: [{ message: { text: `${MARKER} ${text}` } }] }],
  });

const deps = (telemetry = memoryTelemetry()): WebhookDeps => ({
  appSecret: SECRET,
  verifyToken: 'reject-early-verify-token',
  planPrelude: () => {
    throw new Error('a rejected request must not be planned');
  },
  enqueue: async () => {
    throw new Error('a rejected request must not be enqueued');
  },
  enqueueInbound: async () => {
    throw new Error('a rejected request must not reach the responder queue');
  },
  ledger: memoryLedger({ now: () => 0 }),
  now: () => 0,
  telemetry,
  maxBodyBytes: MAX_BODY_BYTES,
});

const post = (body: string, headers: Record<string, string | undefined>): WebhookRequest => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  query: {},
  body: new TextEncoder().encode(body),
});

/** Signature headers that must all fail: none, sha1 only, malformed, or sha256 with another key. */
const badSignature = fc.oneof(
  fc.constant({}),
  fc.constant({ 'x-hub-signature': 'sha1=0123456789abcdef0123456789abcdef01234567' }),
  fc.string({ maxLength: 80 }).map((s) => ({ 'x-hub-signature-256': s })),
  fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => ({ 'x-hub-signature-256': `sha256=${hex}` })),
);

const leaked = (telemetry: ReturnType<typeof memoryTelemetry>, answer: string) =>
  `${JSON.stringify(telemetry.logs)}${JSON.stringify(telemetry.metrics)}${answer}`.includes(MARKER);

afterEach(() => {
  vi.restoreAllMocks();
});

/** The app secret, counting its reads: the HMAC needs it, so an unread secret means an unhashed body. */
const countedSecret = (deps: WebhookDeps) => {
  let reads = 0;
  Object.defineProperty(deps, 'appSecret', {
    get: () => {
      reads += 1;
      return SECRET;
    },
  });
  return { deps, reads: () => reads };
};

describe('webhook: reject early and cheaply', () => {
  it('answers 413 to an over-limit body before hashing it, signed or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 * MAX_BODY_BYTES }),
        fc.boolean(),
        async (extra, signed) => {
          const body = forgedBody('x'.repeat(MAX_BODY_BYTES + extra));
          const headers = { 'x-hub-signature-256': signed ? hubSignature(body, SECRET) : 'sha256=00' };
          const secret = countedSecret(deps());
          const answer = await handleWebhook(post(body, headers), secret.deps);
          expect(answer.statusCode).toBe(413);
          expect(secret.reads()).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('never JSON-parses, logs or echoes a body whose signature fails', async () => {
    const parse = vi.spyOn(JSON, 'parse');
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), badSignature, async (text, headers) => {
        const telemetry = memoryTelemetry();
        parse.mockClear();
        const answer = await handleWebhook(post(forgedBody(text), headers), deps(telemetry));
        expect([401, 403]).toContain(answer.statusCode);
        expect(parse).not.toHaveBeenCalled();
        expect(leaked(telemetry, answer.body)).toBe(false);
        expect(telemetry.logs.map((l) => l.message)).toEqual(['webhook request rejected']);
      }),
      { numRuns: 200 },
    );
  });

  it('does read the secret and parse the same body once it is signed (so the probes above can see)', async () => {
    const parse = vi.spyOn(JSON, 'parse');
    const body = forgedBody('hello');
    const secret = countedSecret({
      ...deps(),
      planPrelude: () => ({ steps: [], typingAfterMs: 0 }),
      enqueue: async () => {},
      enqueueInbound: async () => {},
    });
    const answer = await handleWebhook(
      post(body, { 'x-hub-signature-256': hubSignature(body, SECRET) }),
      secret.deps,
    );
    expect(answer.statusCode).toBe(200);
    expect(parse).toHaveBeenCalled();
    expect(secret.reads()).toBeGreaterThan(0);
  });

  it('through the Lambda handler too: a forged API Gateway event is refused unparsed and unlogged', async () => {
    const telemetry = memoryTelemetry();
    const handler = makeHandler(
      {
        QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-steps.fifo',
        RESPONDER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ellipsis-responder.fifo',
        META_APP_SECRET: SECRET,
        META_VERIFY_TOKEN: 'reject-early-verify-token',
        AWS_REGION: 'us-east-1',
      },
      { telemetry },
    );
    const body = forgedBody('through the handler');
    const event = {
      version: '2.0',
      routeKey: 'POST /webhook',
      rawPath: '/webhook',
      rawQueryString: '',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': hubSignature(body, 'not-the-secret'),
      },
      requestContext: { http: { method: 'POST', path: '/webhook' } },
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
    } as unknown as APIGatewayProxyEventV2;
    const parse = vi.spyOn(JSON, 'parse');
    const answer = await handler(event);
    expect(answer).toMatchObject({ statusCode: 403 });
    expect(parse).not.toHaveBeenCalled();
    expect(leaked(telemetry, JSON.stringify(answer))).toBe(false);
  });
});
